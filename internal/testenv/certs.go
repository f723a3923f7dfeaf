package testenv

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// pki holds the key material of one environment, all generated at start and written to Dir.
type pki struct {
	caCertPEM []byte // CA that signs the apiserver's and kwok's serving certificates

	caCert, caKey               string // files
	apiserverCert, apiserverKey string
	kwokCert, kwokKey           string
	saKey, saPub                string // RSA key pair signing service account tokens
}

// writePKI generates a CA, serving certificates for kube-apiserver and kwok (IP SAN 127.0.0.1)
// and the service account signing key, and writes them to dir.
func writePKI(dir string) (*pki, error) {
	p := &pki{
		caCert:        dir + "/ca.crt",
		caKey:         dir + "/ca.key",
		apiserverCert: dir + "/apiserver.crt",
		apiserverKey:  dir + "/apiserver.key",
		kwokCert:      dir + "/kwok.crt",
		kwokKey:       dir + "/kwok.key",
		saKey:         dir + "/sa.key",
		saPub:         dir + "/sa.pub",
	}
	now := time.Now()

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ca key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "testenv-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("create ca certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("parse ca certificate: %w", err)
	}
	p.caCertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	if err := writeFile(p.caCert, p.caCertPEM); err != nil {
		return nil, err
	}
	if err := writeKey(p.caKey, caKey); err != nil {
		return nil, err
	}

	serving := []struct {
		name, certFile, keyFile string
		dns                     []string
		ips                     []net.IP
		serial                  int64
	}{
		{
			name: "kube-apiserver", certFile: p.apiserverCert, keyFile: p.apiserverKey, serial: 2,
			dns: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
				"kubernetes.default.svc.cluster.local"},
			ips: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(10, 96, 0, 1)},
		},
		{
			name: "kwok", certFile: p.kwokCert, keyFile: p.kwokKey, serial: 3,
			dns: []string{"localhost"},
			ips: []net.IP{net.IPv4(127, 0, 0, 1)},
		},
	}
	for _, s := range serving {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate %s serving key: %w", s.name, err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(s.serial),
			Subject:      pkix.Name{CommonName: s.name},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(7 * 24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			DNSNames:     s.dns,
			IPAddresses:  s.ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return nil, fmt.Errorf("create %s serving certificate: %w", s.name, err)
		}
		if err := writeFile(s.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})); err != nil {
			return nil, err
		}
		if err := writeKey(s.keyFile, key); err != nil {
			return nil, err
		}
	}

	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate service account key: %w", err)
	}
	if err := writeKey(p.saKey, saKey); err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("marshal service account public key: %w", err)
	}
	if err := writeFile(p.saPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})); err != nil {
		return nil, err
	}
	return p, nil
}

func writeKey(path string, key crypto.Signer) error {
	var block *pem.Block
	switch k := key.(type) {
	case *rsa.PrivateKey:
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return fmt.Errorf("marshal key %s: %w", path, err)
		}
		block = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	default:
		return fmt.Errorf("marshal key %s: unsupported key type %T", path, key)
	}
	return writeFile(path, pem.EncodeToMemory(block))
}

func writeFile(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
