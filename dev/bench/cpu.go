package bench

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTick is Linux's USER_HZ, the unit of /proc/<pid>/stat's CPU times.
const clockTick = 10 * time.Millisecond

// cpuTime is the user and system CPU time a process and its children have
// used so far: its own, its exited children's (which the kernel adds to it
// once reaped) and its live children's. PostgreSQL's work is its backends',
// each a child of its postmaster.
func cpuTime(pid int) (time.Duration, error) {
	self, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	total := self.cpu + self.childrenCPU
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil || child == pid {
			continue
		}
		if st, err := readStat(child); err == nil && st.ppid == pid {
			total += st.cpu
		}
	}
	return total, nil
}

// procStat is what cpuTime reads of /proc/<pid>/stat.
type procStat struct {
	ppid             int
	cpu, childrenCPU time.Duration // utime+stime, cutime+cstime
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// The command name (field 2) may hold spaces; fields count from ")".
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 15 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	var n [5]int64 // ppid (field 4), utime, stime, cutime, cstime (14-17)
	for i, f := range []int{1, 11, 12, 13, 14} {
		if n[i], err = strconv.ParseInt(fields[f], 10, 64); err != nil {
			return procStat{}, fmt.Errorf("/proc/%d/stat: unreadable field %d", pid, f+3)
		}
	}
	return procStat{ppid: int(n[0]), cpu: time.Duration(n[1]+n[2]) * clockTick, childrenCPU: time.Duration(n[3]+n[4]) * clockTick}, nil
}

// cpuMeter measures the CPU a set of processes uses over a stretch of load.
type cpuMeter struct {
	pids  map[string]int
	start map[string]time.Duration
}

func newCPUMeter(pids map[string]int) *cpuMeter {
	m := &cpuMeter{pids: pids, start: map[string]time.Duration{}}
	for name, pid := range pids {
		m.start[name], _ = cpuTime(pid)
	}
	return m
}

// used is the CPU each process used since the meter was made.
func (m *cpuMeter) used() cpuUse {
	out := cpuUse{}
	for name, pid := range m.pids {
		now, _ := cpuTime(pid)
		out[name] = now - m.start[name]
	}
	return out
}

// cpuUse is CPU time by process.
type cpuUse map[string]time.Duration

func (u cpuUse) total() time.Duration {
	var t time.Duration
	for _, d := range u {
		t += d
	}
	return t
}

// per describes the use per unit of work, by process: "temporal 4.1 ms, worker 0.9 ms".
func (u cpuUse) per(n int) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(u)) {
		parts = append(parts, fmt.Sprintf("%s %s", name, ms(u[name]/time.Duration(max(n, 1)))))
	}
	return strings.Join(parts, ", ")
}
