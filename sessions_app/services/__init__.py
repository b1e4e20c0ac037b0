"""Write operations, one module per capability. Keyword-only, typed, named <entity>_<action>."""
