-- Destinations beyond a bare HTTPS POST (issue 17): mutual TLS and OAuth2 client credentials
-- for HTTP endpoints, and the settings of broker destinations (nats://, amqp://, redis://).
-- Each column holds one sealed JSON document (see security/secretBox.ts), NULL when unused:
--   mtls:   {"current": {"certificate", "key"}, "previous": [{"certificate", "key", "expires_at"}], "ca"}
--   oauth:  {"token_url", "client_id", "client_secret", "scope", "audience", "auth_method"}
--   broker: {"subject" | "exchange", "routing_key" | "stream", "max_len", "username", "password"}
-- They are read by endpoint id (the primary key) when a worker first sends to an endpoint, and
-- again when its updated_at changes; the claim statement does not carry them.
ALTER TABLE endpoints ADD COLUMN mtls text;
ALTER TABLE endpoints ADD COLUMN oauth text;
ALTER TABLE endpoints ADD COLUMN broker text;
