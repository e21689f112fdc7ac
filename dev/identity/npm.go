package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// npmMu serializes installs within this process; installLock across
// processes (go test runs packages in parallel).
var npmMu sync.Mutex

// ensureModules runs `npm ci` in dir when its node_modules is missing, or
// holds another oidc-provider than package-lock.json pins.
func ensureModules(ctx context.Context, dir string, log io.Writer) error {
	if modulesInstalled(dir) {
		return nil
	}
	npmMu.Lock()
	defer npmMu.Unlock()
	unlock, err := installLock(ctx, dir)
	if err != nil {
		return err
	}
	defer unlock()
	if modulesInstalled(dir) { // another process installed them meanwhile
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("identity: %s has no node_modules and npm is not on PATH to install them", dir)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	tail := &tailBuffer{max: 8 << 10}
	out := io.Writer(tail)
	if log != nil {
		out = io.MultiWriter(tail, log)
	}
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("identity: npm ci in %s: %w\n%s", dir, err, tail.String())
	}
	if !modulesInstalled(dir) {
		return fmt.Errorf("identity: npm ci in %s left no oidc-provider of the locked version", dir)
	}
	return nil
}

// modulesInstalled reports whether dir/node_modules holds a finished install
// (npm writes node_modules/.package-lock.json last) of the locked
// oidc-provider.
func modulesInstalled(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err != nil {
		return false
	}
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil || json.Unmarshal(data, &lock) != nil {
		return false
	}
	want := lock.Packages["node_modules/oidc-provider"].Version
	var installed struct {
		Version string `json:"version"`
	}
	data, err = os.ReadFile(filepath.Join(dir, "node_modules", "oidc-provider", "package.json"))
	if err != nil || json.Unmarshal(data, &installed) != nil {
		return false
	}
	return want != "" && installed.Version == want
}

// installLock takes a lock, a directory in the system's temp directory
// named after dir, that other processes installing there wait on. A lock
// older than staleLock is taken to be left over from a killed process.
func installLock(ctx context.Context, dir string) (unlock func(), err error) {
	const staleLock = 15 * time.Minute
	sum := sha256.Sum256([]byte(dir))
	path := filepath.Join(os.TempDir(), "carebridge-oidc-npm-"+hex.EncodeToString(sum[:8])+".lock")
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		err := os.Mkdir(path, 0o700)
		if err == nil {
			return func() { _ = os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("identity: taking the npm install lock: %w", err)
		}
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > staleLock {
			_ = os.Remove(path)
			continue
		}
		if modulesInstalled(dir) {
			return func() {}, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("identity: waiting for another npm ci in %s: %w", dir, ctx.Err())
		case <-tick.C:
		}
	}
}
