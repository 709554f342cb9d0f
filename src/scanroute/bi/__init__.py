"""BI: the read-only star schema (views) and per-workspace database roles for Tableau / Power BI."""
