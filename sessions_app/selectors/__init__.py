"""Read queries used by views, the websocket consumer and commands (services write, selectors read)."""
