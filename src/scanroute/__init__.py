"""scanroute: dynamic QR codes as programmable touchpoints."""

__version__ = "0.1.0"
