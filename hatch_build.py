"""Build hook: compiles scanroute's C extension (the compiled scan path, ``scanroute.native``).

``src/scanroute/native/*.c`` is compiled with setuptools' ``build_ext`` next to its
source, so that an editable install (``make install``) imports it from ``src/``; a wheel gets
the built file and a platform tag. Without a C compiler or Python's headers the build stops
with the compiler's message, unless ``SCANROUTE_PURE_PYTHON=1`` is set: the package then runs
on its pure-Python path (slower scans, same results).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

NATIVE = "src/scanroute/native"
EXTENSIONS = {
    "scanroute.native.scanpath": [
        f"{NATIVE}/context.c",
        f"{NATIVE}/scan.c",
        f"{NATIVE}/rules.c",
        f"{NATIVE}/module.c",
    ]
}


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Compiles the extensions before the wheel (or the editable wheel) is assembled."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Build each extension in place and, for a regular wheel, ship it."""
        if self.target_name != "wheel" or os.environ.get("SCANROUTE_PURE_PYTHON") == "1":
            return
        from setuptools import Distribution, Extension
        from setuptools.command.build_ext import build_ext

        root = Path(self.root)
        modules = [
            Extension(
                name,
                [str(root / source) for source in sources],
                depends=[str(root / NATIVE / "native.h")],
                extra_compile_args=["-O2", "-Wall", "-Werror"],
            )
            for name, sources in EXTENSIONS.items()
        ]
        with tempfile.TemporaryDirectory() as tmp:
            command = build_ext(Distribution({"name": "scanroute", "ext_modules": modules}))
            command.build_lib = tmp
            command.build_temp = os.path.join(tmp, "temp")
            command.ensure_finalized()
            command.run()
            for name in EXTENSIONS:
                built = Path(tmp, command.get_ext_filename(name))
                target = root / "src" / built.relative_to(tmp)
                shutil.copyfile(built, target)
                if version != "editable":
                    build_data["force_include"][str(target)] = str(built.relative_to(tmp))
        if version != "editable":
            build_data["pure_python"] = False
            build_data["infer_tag"] = True
