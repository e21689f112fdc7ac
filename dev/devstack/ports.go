package devstack

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
)

// freePort is a port free now, below the kernel's ephemeral ports, and
// not handed out before by this process (a cluster picks dozens before any
// is bound).
func freePort() int {
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 200 {
		port := 20000 + rand.IntN(ephemeralPorts-20000)
		if handedOut.ports[port] {
			continue
		}
		if ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			ln.Close()
			handedOut.ports[port] = true
			return port
		}
	}
	panic(fmt.Sprintf("devstack: no free port below %d", ephemeralPorts))
}

// handedOut are the ports freePort has returned: free when picked, but
// perhaps not yet bound by whoever got them.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// ephemeralPorts is where the kernel's ephemeral ports begin (Linux's
// default ip_local_port_range): a port picked below it, ahead of its bind,
// is never taken meanwhile by an outbound connection (Temporal's to
// PostgreSQL and to itself), as 37843 once was in CI.
const ephemeralPorts = 32768
