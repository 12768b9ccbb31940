package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/urltracker/urltracker"
)

// smtpOptions configure email delivery.
type smtpOptions struct {
	// rootCAs verify SMTP servers' certificates; nil uses the system's.
	rootCAs *x509.CertPool
}

// WithSMTPRootCAs makes email delivery trust pool instead of the system's
// certificate authorities (tests, private mail relays).
func WithSMTPRootCAs(pool *x509.CertPool) Option {
	return func(s *Sender) { s.smtp.rootCAs = pool }
}

// email sends n as a plain-text mail over SMTP with STARTTLS (refusing a
// server that does not offer it) or implicit TLS, logging in when the
// channel has a username. Every notice of one outage carries the outage's
// Message-ID in References, so that mail clients thread them.
func (s *Sender) email(ctx context.Context, ch urltracker.Channel, n urltracker.Notice) (Result, error) {
	addr := net.JoinHostPort(ch.SMTPHost, strconv.Itoa(ch.SMTPPort))
	tlsConf := &tls.Config{ServerName: ch.SMTPHost, RootCAs: s.smtp.rootCAs, MinVersion: tls.VersionTLS12}
	dialer := &net.Dialer{}
	var conn net.Conn
	var err error
	if ch.SMTPSecurity == urltracker.SMTPTLS {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: tlsConf}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return Result{}, transportError(err, s.timeout)
	}
	defer conn.Close()
	// net/smtp takes no context: the connection's deadline is the call's.
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	msg, err := mailMessage(ch, n, time.Now())
	if err != nil {
		return Result{}, err
	}
	from, _ := mail.ParseAddress(ch.From)
	c, err := smtp.NewClient(conn, ch.SMTPHost)
	if err != nil {
		return Result{}, smtpError("greeting", err, s.timeout)
	}
	defer c.Close()
	if ch.SMTPSecurity == urltracker.SMTPStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return Result{}, &Error{Msg: "the SMTP server does not offer STARTTLS: choose smtp_security \"tls\" or another port"}
		}
		if err := c.StartTLS(tlsConf); err != nil {
			return Result{}, smtpError("STARTTLS", err, s.timeout)
		}
	}
	if ch.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", ch.Username, ch.Secrets.Password, ch.SMTPHost)); err != nil {
			return Result{}, smtpError("login", err, s.timeout)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return Result{}, smtpError("MAIL FROM", err, s.timeout)
	}
	for _, to := range ch.To {
		a, _ := mail.ParseAddress(to)
		if err := c.Rcpt(a.Address); err != nil {
			return Result{}, smtpError("RCPT TO "+a.Address, err, s.timeout)
		}
	}
	w, err := c.Data()
	if err != nil {
		return Result{}, smtpError("DATA", err, s.timeout)
	}
	if _, err := w.Write(msg); err != nil {
		return Result{}, smtpError("DATA", err, s.timeout)
	}
	if err := w.Close(); err != nil {
		return Result{}, smtpError("DATA", err, s.timeout)
	}
	_ = c.Quit()
	return Result{StatusCode: 250}, nil
}

// smtpError classifies an SMTP failure: 4xx replies and lost connections
// are worth another try, 5xx replies are not.
func smtpError(step string, err error, timeout time.Duration) *Error {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		// A refused login does not heal by itself, whatever its code
		// (servers answer 454 or 535): only 421, the server going away,
		// is worth another try there.
		retryable := tp.Code < 500 && (step != "login" || tp.Code == 421)
		return &Error{StatusCode: tp.Code, retryable: retryable,
			Msg: fmt.Sprintf("SMTP %s refused: %d %s", step, tp.Code, tp.Msg)}
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		e := transportError(err, timeout)
		e.Msg = "SMTP " + step + ": " + e.Msg
		return e
	}
	// Certificate and authentication mechanism errors: fix the channel.
	return &Error{Msg: fmt.Sprintf("SMTP %s failed: %v", step, err)}
}

// mailMessage is n as an RFC 5322 message in quoted-printable UTF-8.
func mailMessage(ch urltracker.Channel, n urltracker.Notice, now time.Time) ([]byte, error) {
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", ch.From)
	header("To", strings.Join(ch.To, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", "[urltracker] "+n.Title))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", fmt.Sprintf("<%d.%s@urltracker>", now.UnixNano(), strings.ReplaceAll(string(n.Event), "_", "-")))
	if key := n.OutageKey(); key != "" {
		thread := "<" + key + "@urltracker>"
		header("References", thread)
		header("In-Reply-To", thread)
	}
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(plainText(n), "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
