// Package transport turns the extension's `server.ws` / `server.http`
// settings (endpoint, tls, headers, auth, proxy) into the connection fields of
// the OpAMP client's settings (internal/opampclient), and validates them so
// that a configuration that cannot work is rejected at start-up instead of
// failing every connection attempt.
//
// How the client uses what this package produces (gorilla/websocket for ws
// and wss, net/http for plain-HTTP polling):
//
//   - Header and HeaderFunc: evaluated as HeaderFunc(ctx, url,
//     Header.Clone()), url being the connection's in use (an offer may
//     have moved it), before every WebSocket dial (the first and each
//     redial) and never
//     while a connection is open, so a token is refreshed only when the
//     client reconnects; over HTTP, before every request (every poll, the
//     goodbye included). ctx ends when the client stops, and the
//     HeaderFunc returns then even if the authenticator does not.
//   - TLS: the handshake runs on every WebSocket dial, and over HTTP once
//     per new TCP connection, keep-alive connections being reused across
//     polls. configtls's client certificate reload (reload_interval)
//     therefore applies at the next dial or new connection. LoadTLS returns
//     nil for ws:// and http://, which never use TLS.
//   - Proxy URL and headers: applied once when the client starts. Without a
//     proxy URL both transports honour HTTP_PROXY, HTTPS_PROXY and NO_PROXY
//     from the environment. See ValidateProxy for the combinations that
//     cannot work.
//   - Compression: the WebSocket client offers permessage-deflate, which the
//     server may decline; the HTTP client gzips every request body, which
//     the server must accept.
package transport
