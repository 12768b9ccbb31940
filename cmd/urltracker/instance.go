package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// The two ways a second copy of urltracker collides with a running one. Both
// are reported with exit code 78, so that a supervisor never restarts into
// the same collision; neither ever signals the other process.

// instanceLock is an exclusive lock on the SQLite database file itself: only
// one `serve` may use a database file, because SQLite allows one writer and
// two instances would fight over it (and over its port) forever. The lock
// is on the open file, that is on the inode, not on a name: a symlink, a
// hard link or another container's mount of the same file meets the same
// lock. (A lock on a file beside the path let two instances share one
// database through a hard link and lose acknowledged webhooks.) flock is
// independent of the POSIX locks SQLite takes on the same file.
type instanceLock struct {
	f *os.File
}

// acquireInstanceLock takes the lock of the database file at dbPath,
// creating the file if needed, or explains who holds it. The kernel drops
// the lock when the process dies, so a crash never leaves a stale lock.
func acquireInstanceLock(dbPath string) (*instanceLock, error) {
	f, err := os.OpenFile(dbPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS) {
			return nil, fmt.Errorf("database file %s is not writable by this user (%v): fix its owner or mode, or the mount", dbPath, err)
		}
		return nil, fmt.Errorf("open database file %s to lock it: %w", dbPath, err)
	}
	if err := lockFile(f, dbPath); err != nil {
		f.Close()
		return nil, err
	}
	return &instanceLock{f: f}, nil
}

// probeInstanceLock tells whether acquireInstanceLock would succeed, without
// creating the database file or keeping a lock.
func probeInstanceLock(dbPath string) error {
	f, err := os.Open(dbPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open database file %s: %w", dbPath, err)
	}
	defer f.Close()
	if err := lockFile(f, dbPath); err != nil {
		return err
	}
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}

func lockFile(f *os.File, dbPath string) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return fmt.Errorf("database %s is in use by %s (the file is locked; a symlink or hard link to it is the same file): stop it or give this instance its own URLTRACKER_DATABASE_URL",
			dbPath, lockHolder(f))
	}
	if err != nil {
		return fmt.Errorf("lock database file %s: %w", dbPath, err)
	}
	return nil
}

// Release gives the lock up.
func (l *instanceLock) Release() {
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	_ = l.f.Close()
}

// lockHolder names the process holding the flock on f's inode, from the
// kernel's own table of locks (/proc/locks: "1: FLOCK ADVISORY WRITE PID
// MAJOR:MINOR:INODE 0 EOF", device numbers in hex).
func lockHolder(f *os.File) string {
	const unknown = "another urltracker serve"
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return unknown
	}
	dev := uint64(st.Dev)
	major := (dev>>8)&0xfff | (dev>>32)&^0xfff
	minor := dev&0xff | (dev>>12)&^0xff
	want := fmt.Sprintf("%02x:%02x:%d", major, minor, st.Ino)
	locks, err := os.ReadFile("/proc/locks")
	if err != nil {
		return unknown
	}
	for _, line := range strings.Split(string(locks), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 6 || fields[1] != "FLOCK" || fields[5] != want {
			continue
		}
		if pid, err := strconv.Atoi(fields[4]); err == nil && pid > 0 {
			return describePID(pid) + ", another urltracker serve"
		}
	}
	return unknown
}

// describePID is "PID 1234 (urltracker)", or just "PID 1234" when /proc does
// not tell the command name.
func describePID(pid int) string {
	comm, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	if err != nil {
		return "PID " + strconv.Itoa(pid)
	}
	return fmt.Sprintf("PID %d (%s)", pid, strings.TrimSpace(string(comm)))
}

// listen opens the listening socket; when the port is taken it says by whom.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	_, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	holder := "another process"
	if pid := portHolder(port); pid > 0 {
		holder = describePID(pid)
	}
	return nil, fmt.Errorf("port %d is in use by %s: stop it or set URLTRACKER_ADDR to a free address", port, holder)
}

// portHolder finds the process listening on TCP port from /proc: the socket's
// inode in /proc/net/tcp{,6}, then the process holding that inode among its
// file descriptors. It returns 0 when /proc does not tell (another user's
// process, another network namespace, no /proc).
func portHolder(port int) int {
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		for _, inode := range listeningInodes(table, port) {
			inodes[inode] = true
		}
	}
	if len(inodes) == 0 {
		return 0
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fdDir := filepath.Join("/proc", p.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil {
				continue
			}
			if inode, ok := strings.CutPrefix(target, "socket:["); ok && inodes[strings.TrimSuffix(inode, "]")] {
				return pid
			}
		}
	}
	return 0
}

// listeningInodes returns the inodes of sockets listening on port in one
// /proc/net/tcp table ("local_address" is HEXIP:HEXPORT, state 0A = LISTEN).
func listeningInodes(table string, port int) []string {
	f, err := os.Open(table)
	if err != nil {
		return nil
	}
	defer f.Close()
	var inodes []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != "0A" {
			continue
		}
		_, hexPort, ok := strings.Cut(fields[1], ":")
		if !ok {
			continue
		}
		if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(p) == port {
			inodes = append(inodes, fields[9])
		}
	}
	return inodes
}
