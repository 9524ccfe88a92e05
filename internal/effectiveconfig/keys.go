package effectiveconfig

import (
	"strings"
	"unicode"
)

// secretWords are single words, after splitting a key, that name a secret.
// Joined spellings ("apikey", "accesstoken") are listed because users write
// keys without separators.
var secretWords = setOf(
	"password", "passwd", "pwd", "passphrase", "passcode",
	"secret", "secrets", "clientsecret", "secretkey",
	"token", "tokens", "accesstoken", "authtoken", "apitoken", "bearertoken",
	"refreshtoken", "idtoken", "sastoken",
	"apikey", "apikeys", "xapikey", "accesskey", "privatekey", "privkey",
	"authorization", "proxyauthorization", "bearer",
	"credential", "credentials", "creds",
	"cookie", "cookies", "setcookie", "sessionkey",
	"signature", "sig", "sas",
	"dsn", "connectionstring", "connstring", "connstr", "datasource",
)

// secretPairs are two adjacent words that together name a secret although
// neither does alone: "key" is ambiguous, "api key" is not.
var secretPairs = setOf(
	"apikey", "privatekey", "secretkey", "accesskey", "sessionkey",
	"signingkey", "encryptionkey", "masterkey", "sharedkey", "accountkey",
	"licensekey", "ingestkey", "ingestionkey", "instrumentationkey",
	"insertkey", "authkey", "hmackey", "appkey", "applicationkey",
	"subscriptionkey", "storagekey", "writekey", "servicekey",
	"keypem", "keydata", "keycontent", "keycontents",
	"connectionstring", "connstring", "datasource", "honeycombteam",
)

// metaSuffixes end keys that describe a secret without holding it: where
// it is stored (key_file, token_url), how it is used (token_type,
// api_key_header) or for how long (token_ttl).
var metaSuffixes = setOf(
	"file", "files", "path", "paths", "dir", "directory", "filename", "filepath",
	"endpoint", "endpoints", "url", "urls", "uri", "uris", "host", "hostname",
	"type", "kind", "mode", "format", "algorithm", "algo", "version", "prefix",
	"count", "limit", "size", "length", "len",
	"ttl", "timeout", "interval", "expiry", "expiration", "expires", "lifetime", "duration", "period",
	"enabled", "enable", "disabled", "required",
	"header", "field", "name", "names", "id", "ids", "env",
	"source", "provider", "location", "store",
)

// metaPrefixes start keys that count or toggle rather than hold a secret
// (max_tokens, include_credentials).
var metaPrefixes = setOf(
	"max", "min", "num", "number", "total",
	"use", "include", "enable", "disable", "require", "skip",
)

// IsSecretKey reports whether a configuration key (or header or query
// parameter name) names a secret. The key is split into lower-case words
// on '_', '-', '.', spaces and camelCase; a key is secret when a word, or
// two adjacent words, name a secret, unless the key only describes one:
// a path or URL (key_file, token_endpoint), a count (max_tokens) or
// similar metadata. "key" alone is ambiguous and is not secret.
func IsSecretKey(key string) bool {
	// "type/name" is a component or pipeline id (otlphttp/secret,
	// traces/token): a name, not a field holding a secret. Hiding it would
	// hide the whole component's configuration.
	if strings.Contains(key, "/") {
		return false
	}
	if len(key) <= maxASCIIKey && isASCII(key) {
		return isSecretASCIIKey(key)
	}
	return isSecretKeyByWords(key)
}

// isSecretKeyByWords is IsSecretKey's word rule for any key.
func isSecretKeyByWords(key string) bool {
	words := splitWords(key)
	if len(words) == 0 {
		return false
	}
	if metaPrefixes[words[0]] || metaSuffixes[words[len(words)-1]] {
		return false
	}
	for i, w := range words {
		if secretWords[w] {
			return true
		}
		if i+1 < len(words) && secretPairs[w+words[i+1]] {
			return true
		}
	}
	return false
}

// splitWords splits key into lower-case words on separators and camelCase
// boundaries; "XApiKey" and "x-api_key" both give [x api key].
func splitWords(key string) []string {
	var words []string
	runes := []rune(key)
	start := -1
	flush := func(end int) {
		if start >= 0 && end > start {
			words = append(words, strings.ToLower(string(runes[start:end])))
		}
		start = -1
	}
	for i, r := range runes {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush(i)
			continue
		}
		if start >= 0 && unicode.IsUpper(r) {
			prev := runes[i-1]
			nextLower := i+1 < len(runes) && unicode.IsLower(runes[i+1])
			// "apiKey" splits before K; "APIKey" splits before K too.
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				flush(i)
			}
		}
		if start < 0 {
			start = i
		}
	}
	flush(len(runes))
	return words
}

func setOf(items ...string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, it := range items {
		m[it] = true
	}
	return m
}
