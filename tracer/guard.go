package tracer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// AllowCIDRsEnv is the environment variable that lists the internal ranges
// the tracer may reach anyway. Errors name it so that the user knows what to
// change.
const AllowCIDRsEnv = "URLTRACKER_TRACE_ALLOW_CIDRS"

// ParseAllowCIDRs parses the comma-separated list of CIDRs in
// URLTRACKER_TRACE_ALLOW_CIDRS. A bare address stands for itself alone
// (/32 or /128). Empty entries are skipped, so "" means "allow nothing".
func ParseAllowCIDRs(s string) ([]netip.Prefix, error) {
	var prefixes []netip.Prefix
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		p, err := parsePrefix(entry)
		if err != nil {
			return nil, fmt.Errorf("%s: entry %q is not a CIDR like 10.0.0.0/8 or an IP address: %w", AllowCIDRsEnv, entry, err)
		}
		prefixes = append(prefixes, p)
	}
	return prefixes, nil
}

func parsePrefix(entry string) (netip.Prefix, error) {
	if !strings.Contains(entry, "/") {
		addr, err := netip.ParseAddr(entry)
		if err != nil {
			return netip.Prefix{}, err
		}
		addr = addr.Unmap()
		return netip.PrefixFrom(addr, addr.BitLen()), nil
	}
	p, err := netip.ParsePrefix(entry)
	if err != nil {
		return netip.Prefix{}, err
	}
	// Destinations are unmapped before they are matched, so an IPv4-mapped
	// prefix is unmapped too or it would never match anything.
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// BlockedError is returned by the Guard when it refuses a destination.
type BlockedError struct {
	Dest   netip.AddrPort
	Reason string // e.g. "loopback address"
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("destination %s is not allowed: %s; set %s to allow it", e.Dest, e.Reason, AllowCIDRsEnv)
}

// internalRanges are the destinations a link check must not reach: a link
// that points at them is either a mistake or an attempt to make this service
// probe the network it runs in.
var internalRanges = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), `"this network" address`},
	{netip.MustParsePrefix("10.0.0.0/8"), "private address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT) address"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local address"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast address"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved address"},
	{netip.MustParsePrefix("::1/128"), "loopback address"},
	{netip.MustParsePrefix("fc00::/7"), "private (unique local) address"},
	{netip.MustParsePrefix("fe80::/10"), "link-local address"},
	{netip.MustParsePrefix("ff00::/8"), "multicast address"},
}

// nat64 is the well-known NAT64 prefix: on a NAT64 network an address in it
// reaches the IPv4 address held in its last 32 bits.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// internalReason says why addr is internal, or "" when it is not.
func internalReason(addr netip.Addr) string {
	if addr.IsUnspecified() {
		return "unspecified address"
	}
	if nat64.Contains(addr) {
		b := addr.As16()
		if reason := internalReason(netip.AddrFrom4([4]byte(b[12:]))); reason != "" {
			return reason + " (via NAT64)"
		}
		return ""
	}
	for _, r := range internalRanges {
		if r.prefix.Contains(addr) {
			return r.reason
		}
	}
	return ""
}

// Guard decides which addresses the tracer may connect to. It refuses
// internal addresses and ports other than 80 and 443, except for destinations
// inside its allowed prefixes. Its DialContext checks every address a name
// resolves to, at every dial, so a redirect to an internal name or a DNS
// answer that changes between two hops is caught too.
type Guard struct {
	allow  []netip.Prefix
	dialer net.Dialer
	// lookup resolves a host name; tests replace it to make names point
	// wherever they need without a DNS server.
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

// NewGuard returns a Guard that lets through destinations inside allow.
func NewGuard(allow []netip.Prefix) *Guard {
	return &Guard{
		allow:  allow,
		dialer: net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second},
		lookup: func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		},
	}
}

// Check returns a *BlockedError when dest may not be reached, nil otherwise.
func (g *Guard) Check(dest netip.AddrPort) error {
	addr := dest.Addr().Unmap().WithZone("")
	if !addr.IsValid() {
		return &BlockedError{Dest: dest, Reason: "invalid address"}
	}
	for _, p := range g.allow {
		if p.Contains(addr) {
			return nil
		}
	}
	if reason := internalReason(addr); reason != "" {
		return &BlockedError{Dest: dest, Reason: reason}
	}
	if port := dest.Port(); port != 80 && port != 443 {
		return &BlockedError{Dest: dest, Reason: fmt.Sprintf("port %d is neither 80 nor 443", port)}
	}
	return nil
}

// DialContext resolves address, checks every resolved IP with Check and only
// then connects, to the checked IP itself so that nothing resolves the name
// again behind the check. It has the signature of net.Dialer.DialContext.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", address, err)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("dial %s: invalid port %q", address, portText)
	}
	addrs, err := g.resolve(ctx, network, host)
	if err != nil {
		return nil, err
	}
	dests := make([]netip.AddrPort, len(addrs))
	// Refuse the name as a whole if any of its addresses is refused: the
	// order of the resolver's answers must not decide whether we reach in.
	for i, a := range addrs {
		dests[i] = netip.AddrPortFrom(a.Unmap(), uint16(port))
		if err := g.Check(dests[i]); err != nil {
			return nil, err
		}
	}
	var errs []error
	for _, d := range dests {
		conn, err := g.dialer.DialContext(ctx, network, d.String())
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

func (g *Guard) resolve(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if addr, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{addr}, nil
	}
	found, err := g.lookup(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	var addrs []netip.Addr
	for _, a := range found {
		a = a.Unmap()
		if (network == "tcp4" && !a.Is4()) || (network == "tcp6" && !a.Is6()) {
			continue
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("resolve %s: no %s address", host, network)
	}
	return addrs, nil
}
