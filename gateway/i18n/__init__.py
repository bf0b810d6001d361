"""The language of a request: negotiated from Accept-Language, and the text it picks."""
