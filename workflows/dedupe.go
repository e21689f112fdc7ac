package workflows

// dedupe remembers the newest keys a workflow has applied, so that a
// redelivery has no effect: keys is the list kept in the workflow's state
// (carried across continue-as-new), oldest first, at most limit long.
type dedupe struct {
	keys  *[]string
	set   map[string]bool
	limit int
}

func newDedupe(keys *[]string, limit int) *dedupe {
	d := &dedupe{keys: keys, set: make(map[string]bool, len(*keys)), limit: limit}
	for _, k := range *keys {
		d.set[k] = true
	}
	return d
}

// firstTime reports whether key is new, and remembers it.
func (d *dedupe) firstTime(key string) bool {
	if d.set[key] {
		return false
	}
	d.set[key] = true
	*d.keys = append(*d.keys, key)
	if len(*d.keys) > d.limit {
		delete(d.set, (*d.keys)[0])
		*d.keys = (*d.keys)[1:]
	}
	return true
}
