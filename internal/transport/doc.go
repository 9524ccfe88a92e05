// Package transport turns the extension's `server.ws` / `server.http`
// settings (endpoint, tls, headers, auth, proxy) into the connection fields of
// opamp-go's types.StartSettings, and validates them so that a configuration
// that cannot work is rejected at start-up instead of failing every connection
// attempt.
//
// How opamp-go v0.23.0 uses what this package produces:
//
//   - Header and HeaderFunc: the WebSocket client evaluates
//     HeaderFunc(Header.Clone()) once per connection attempt (each dial of the
//     reconnect loop, redirects included) and never while a connection is
//     open, so a token is refreshed only when the client reconnects. The
//     plain-HTTP client evaluates it before every request (each send and each
//     poll).
//   - TLSConfig: any non-nil value makes the WebSocket client rewrite the URL
//     to wss; the handshake runs on every dial. The HTTP client installs it in
//     its transport once at Start; a handshake happens per new TCP connection
//     and keep-alive connections are reused across polls. configtls's client
//     certificate reload (reload_interval) therefore applies at the next dial
//     or new connection.
//   - ProxyURL and ProxyHeaders: applied once at Start. Without them both
//     clients honour HTTP_PROXY, HTTPS_PROXY and NO_PROXY from the environment.
//     See ValidateProxy for the combinations that cannot work.
//   - EnableCompression: the WebSocket client offers permessage-deflate, which
//     the server may decline; the HTTP client gzips every request body, which
//     the server must accept.
package transport
