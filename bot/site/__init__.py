"""The site: fetching (client), parsing (pure), the editions, and polling them into the store."""
