package server

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/gander-xmpp/gander/internal/config"
)

// Validate runs every check New makes before it opens the database or a
// socket: the configuration's cross-section rules (config.Config.Validate)
// and the files it names (TLS certificates and keys). `gander check-config`
// calls it, so that a file it accepts does not fail at start for a reason
// it could have seen. Errors are *config.Error values naming key and line.
func Validate(cfg *config.Config) error {
	var errs []error
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	for i, l := range cfg.Listen.C2S {
		if l.TLS != nil && l.TLS.CertFile != "" {
			errs = append(errs, checkKeyPair(cfg, fmt.Sprintf("listen.c2s[%d].tls", i), l.TLS)...)
		}
	}
	for i, h := range cfg.Listen.HTTP {
		if h.TLS != nil && h.TLS.CertFile != "" {
			errs = append(errs, checkKeyPair(cfg, fmt.Sprintf("listen.http[%d].tls", i), h.TLS)...)
		}
	}
	return errors.Join(errs...)
}

// checkKeyPair loads a certificate and its key as the listener will.
func checkKeyPair(cfg *config.Config, key string, t *config.TLS) []error {
	keyFile := t.KeyFile
	if keyFile == "" {
		keyFile = t.CertFile // MongooseIM: certfile may hold the key too
	}
	if _, err := tls.LoadX509KeyPair(t.CertFile, keyFile); err != nil {
		return []error{cfg.Errorf(key+".certfile", "cannot load the certificate and key: %v", err)}
	}
	return nil
}
