"""Domain types: plain dataclasses and enums, free of storage, web and framework imports."""
