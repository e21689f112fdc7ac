package config

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// CertCheckEvery is how often, at most, a Certificate looks at its files:
// a handshake after that much time since the last look stats them (two
// stat calls), and re-reads them only when one changed.
const CertCheckEvery = 2 * time.Second

// Certificate is a certificate and its key read from PEM files, and read
// again when the files change, so that a rotated certificate (cert-manager,
// a renewal job, a mounted secret) is served without a restart. It is
// checked lazily, from the handshakes: no goroutine, no fsnotify. A change
// is a new modification time or size of either file. A pair that does not
// load (the certificate is already the new one, the key not yet) leaves the
// previous one in use until the files change again.
type Certificate struct {
	certFile, keyFile string

	mu      sync.Mutex
	log     *slog.Logger // nil: reloads are not logged
	cert    *tls.Certificate
	seen    fileStamp // the files as last looked at (loaded, or failed to load)
	checked time.Time
}

// fileStamp is what tells a changed file: modification time and size.
type fileStamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

func stampOf(certFile, keyFile string) (fileStamp, error) {
	c, err := os.Stat(certFile)
	if err != nil {
		return fileStamp{}, err
	}
	k, err := os.Stat(keyFile)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{certMod: c.ModTime(), keyMod: k.ModTime(), certSize: c.Size(), keySize: k.Size()}, nil
}

// LoadCertificate reads the pair once; an error names both files.
func LoadCertificate(certFile, keyFile string) (*Certificate, error) {
	stamp, err := stampOf(certFile, keyFile)
	if err == nil {
		var cert tls.Certificate
		if cert, err = tls.LoadX509KeyPair(certFile, keyFile); err == nil {
			return &Certificate{certFile: certFile, keyFile: keyFile, cert: &cert, seen: stamp, checked: time.Now()}, nil
		}
	}
	return nil, fmt.Errorf("certificate %s with key %s: %w", certFile, keyFile, err)
}

// SetLogger logs each reload (and each change that did not load) to log.
func (c *Certificate) SetLogger(log *slog.Logger) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = log
}

// GetCertificate is a tls.Config's GetCertificate (a server's).
func (c *Certificate) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.current(), nil
}

// GetClientCertificate is a tls.Config's GetClientCertificate (mTLS).
func (c *Certificate) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return c.current(), nil
}

// current is the certificate to present, re-read first when CertCheckEvery
// has passed and the files changed.
func (c *Certificate) current() *tls.Certificate {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if now.Sub(c.checked) < CertCheckEvery {
		return c.cert
	}
	c.checked = now
	stamp, err := stampOf(c.certFile, c.keyFile)
	if err != nil || stamp == c.seen {
		// A file missing for a moment (a rename in progress) is no reason
		// to stop serving the certificate in use.
		return c.cert
	}
	c.seen = stamp
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		if c.log != nil {
			c.log.Warn("the TLS certificate files changed but do not load; still serving the previous certificate",
				slog.String("cert_file", c.certFile), slog.String("key_file", c.keyFile), slog.String("error", err.Error()))
		}
		return c.cert
	}
	c.cert = &cert
	if c.log != nil && cert.Leaf != nil {
		c.log.Info("TLS certificate reloaded", slog.String("cert_file", c.certFile),
			slog.String("subject", cert.Leaf.Subject.String()), slog.Time("not_after", cert.Leaf.NotAfter))
	}
	return c.cert
}
