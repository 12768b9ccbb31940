package notify_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http/httptest"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/notify"
)

// mailbox is a real SMTP server on loopback (go-smtp) that accepts mail for
// one login and keeps what it received.
type mailbox struct {
	addr string
	pool *x509.CertPool
	mu   sync.Mutex
	mail []delivered
}

type delivered struct {
	from   string
	to     []string
	login  string
	tls    bool
	header mail.Header
	body   string
}

type smtpSession struct {
	box   *mailbox
	conn  *smtp.Conn
	login string
	cur   delivered
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != "alerts" || password != "s3cret" {
			return errors.New("invalid credentials")
		}
		s.login = username
		return nil
	}), nil
}
func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.login == "" {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	s.cur = delivered{from: from, login: s.login}
	return nil
}
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *smtpSession) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		return err
	}
	_, s.cur.tls = s.conn.TLSConnectionState()
	s.cur.header, s.cur.body = m.Header, string(body)
	s.box.mu.Lock()
	s.box.mail = append(s.box.mail, s.cur)
	s.box.mu.Unlock()
	return nil
}
func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }

// newMailbox starts the server; implicitTLS makes it speak TLS from the
// first byte (port 465 style), else it offers STARTTLS unless noTLS.
func newMailbox(t *testing.T, implicitTLS, noTLS bool) *mailbox {
	t.Helper()
	// httptest's certificate is valid for 127.0.0.1.
	certs := httptest.NewUnstartedServer(nil)
	certs.StartTLS()
	tlsConf := certs.TLS.Clone()
	box := &mailbox{pool: x509.NewCertPool()}
	box.pool.AddCert(certs.Certificate())
	certs.Close()

	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{box: box, conn: c}, nil
	}))
	srv.Domain = "mail.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	if !noTLS {
		srv.TLSConfig = tlsConf
	}
	srv.AllowInsecureAuth = noTLS
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicitTLS {
		ln = tls.NewListener(ln, tlsConf)
	}
	box.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return box
}

func (b *mailbox) channel(t *testing.T, security string) urltracker.Channel {
	host, port, _ := net.SplitHostPort(b.addr)
	p, _ := strconv.Atoi(port)
	return urltracker.Channel{Name: "ops mail", Kind: urltracker.ChannelEmail, SMTPHost: host, SMTPPort: p,
		SMTPSecurity: security, Username: "alerts", From: "urltracker <alerts@example.com>",
		To: []string{"ops@example.com", "Night Shift <night@example.com>"}, Secrets: urltracker.ChannelSecrets{Password: "s3cret"}}.Normalize()
}

func (b *mailbox) received() []delivered {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]delivered(nil), b.mail...)
}

func TestEmailOverSTARTTLSAndTLS(t *testing.T) {
	for _, security := range []string{urltracker.SMTPStartTLS, urltracker.SMTPTLS} {
		t.Run(security, func(t *testing.T) {
			box := newMailbox(t, security == urltracker.SMTPTLS, false)
			s := notify.NewSender(5*time.Second, notify.WithSMTPRootCAs(box.pool))
			res, err := s.Send(context.Background(), box.channel(t, security), outage())
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != 250 {
				t.Errorf("result = %+v", res)
			}
			got := box.received()
			if len(got) != 1 {
				t.Fatalf("mailbox holds %d messages, want 1", len(got))
			}
			m := got[0]
			if !m.tls || m.login != "alerts" || m.from != "alerts@example.com" ||
				strings.Join(m.to, ",") != "ops@example.com,night@example.com" {
				t.Errorf("envelope = tls %v login %q from %q to %v", m.tls, m.login, m.from, m.to)
			}
			subject, _ := new(mime.WordDecoder).DecodeHeader(m.header.Get("Subject"))
			if subject != `[urltracker] Offer "shoes <EU>" is still failing: broken` {
				t.Errorf("Subject = %q", subject)
			}
			if m.header.Get("References") != "<offer-7-1796169600@urltracker>" || m.header.Get("Content-Type") != "text/plain; charset=utf-8" ||
				m.header.Get("From") != "urltracker <alerts@example.com>" || m.header.Get("Date") == "" {
				t.Errorf("header = %v", m.header)
			}
			for _, want := range []string{"urltracker held Trackier campaign cmp-7", "Outage: since 2026-12-02 00:00 UTC (1h 30m)",
				"Final URL: https://shop.example/eu", "https://tracker.example/offers/7"} {
				if !strings.Contains(m.body, want) {
					t.Errorf("body lacks %q:\n%s", want, m.body)
				}
			}
		})
	}
}

func TestEmailRefusesAServerWithoutSTARTTLS(t *testing.T) {
	box := newMailbox(t, false, true)
	_, err := notify.NewSender(5*time.Second).Send(context.Background(), box.channel(t, urltracker.SMTPStartTLS), outage())
	if err == nil || !strings.Contains(err.Error(), "does not offer STARTTLS") {
		t.Errorf("err = %v", err)
	}
	if n := len(box.received()); n != 0 {
		t.Errorf("%d messages sent in the clear", n)
	}
}

func TestEmailWrongPasswordIsFinal(t *testing.T) {
	box := newMailbox(t, false, false)
	ch := box.channel(t, urltracker.SMTPStartTLS)
	ch.Secrets.Password = "wrong"
	_, err := notify.NewSender(5*time.Second, notify.WithSMTPRootCAs(box.pool)).Send(context.Background(), ch, outage())
	var e *notify.Error
	if !errors.As(err, &e) || e.Retryable() || !strings.Contains(e.Error(), "login") {
		t.Errorf("err = %#v", err)
	}
}
