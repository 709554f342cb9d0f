"""The landing-page script served at ``/t.js`` (under 2 KB, no external requests).

Include it on the destination page: ``<script src="https://qr.example.com/t.js" async></script>``.
It sends to the origin it was loaded from; the scan id comes from ``sr_sid`` in the page URL
(then kept in the site's own first-party cookie ``sr_sid``, SameSite=Lax, 30 days, path /).
``window.scanroute.sid`` is the scan id (for later conversions on that site) and
``window.scanroute.step(name, value?)`` records a named step (``[a-z0-9_.-]{1,40}``).
"""

from __future__ import annotations

from typing import Final

_SOURCE = r"""(function(w,d,n){
var s=d.currentScript,o=s&&s.src?new URL(s.src).origin:"",R=/^[0-9a-v]{24}$/,
p=new URLSearchParams(location.search).get("sr_sid"),c=d.cookie.match(/(?:^|;\s*)sr_sid=([0-9a-v]{24})/),
a=!!(p&&R.test(p)),id=a?p:(c?c[1]:null),t=0,v=0,e=0;
function send(k,x){if(!id)return;var b="sid="+id+"&k="+encodeURIComponent(k)+(x!=null?"&v="+x:"");
try{if(n.sendBeacon&&n.sendBeacon(o+"/t",b))return;fetch(o+"/t",{method:"POST",body:b,keepalive:true,
mode:"no-cors",credentials:"omit"})}catch(_){}}
w.scanroute={sid:id,step:function(k,x){if(/^[a-z0-9_.-]{1,40}$/.test(k))send(k,x==null?null:+x)}};
if(!a)return;
d.cookie="sr_sid="+p+"; Max-Age=2592000; Path=/; SameSite=Lax"+(location.protocol=="https:"?"; Secure":"");
send("arrived");
function tick(){var z=Date.now();if(v)t+=z-v;v=d.visibilityState=="visible"?z:0}
function engaged(){tick();if(t>=1e4){e=1;send("engaged",Math.round(t/1e3))}}
v=d.visibilityState=="visible"?Date.now():0;
d.addEventListener("visibilitychange",function(){d.visibilityState=="hidden"?engaged():tick()});
setTimeout(function(){if(!e)engaged()},10500)
})(window,document,navigator);
"""

SCRIPT: Final = _SOURCE.encode()
"""The bytes served at ``/t.js``."""
