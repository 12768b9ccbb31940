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

// instanceLock is an exclusive lock beside the SQLite file: only one `serve`
// may use a database file, because SQLite allows one writer and two
// instances would fight over it (and over its port) forever.
type instanceLock struct {
	f *os.File
}

// lockPath is the lock file of an SQLite database file.
func lockPath(dbPath string) string { return dbPath + ".lock" }

// acquireInstanceLock takes the lock of dbPath or explains who holds it. The
// kernel drops the lock when the process dies, so a crash never leaves a
// stale lock behind; the PID written inside only names the holder.
func acquireInstanceLock(dbPath string) (*instanceLock, error) {
	path := lockPath(dbPath)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open instance lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("database %s is in use by %s (lock %s): stop it or give this instance its own URLTRACKER_DATABASE_URL",
				dbPath, lockHolder(path), path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &instanceLock{f: f}, nil
}

// probeInstanceLock tells whether acquireInstanceLock would succeed, without
// creating or writing the lock file.
func probeInstanceLock(dbPath string) error {
	path := lockPath(dbPath)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open instance lock %s: %w", path, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("database %s is in use by %s (lock %s)", dbPath, lockHolder(path), path)
		}
		return fmt.Errorf("lock %s: %w", path, err)
	}
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}

// Release gives the lock up. The file stays: removing it would let a third
// process lock a new file while a second still waits on the old one.
func (l *instanceLock) Release() {
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	_ = l.f.Close()
}

// lockHolder describes the process named in a lock file.
func lockHolder(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "another urltracker serve"
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return "another urltracker serve"
	}
	return describePID(pid) + ", another urltracker serve"
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
