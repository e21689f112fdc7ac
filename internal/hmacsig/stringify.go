package hmacsig

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Stringify returns exactly what JavaScript's JSON.stringify(JSON.parse(body))
// writes, which is what Akute's and CareValidate's documented verifiers sign:
// object keys in the order a JavaScript object keeps them (integer-like keys
// first, ascending, then the others as first seen; a repeated key keeps its
// first place and its last value), numbers as ECMAScript's Number::toString
// writes them (1.0 is 1, 1e2 is 100, 1e21 is 1e+21, too large is null),
// strings with JSON.stringify's escapes only (\u00e9 is é, \/ is /, lone
// surrogates as \udxxx), no whitespace. Invalid UTF-8 reads as U+FFFD, as a
// JavaScript body parser decodes it.
//
// It is not encoding/json: that sorts map keys, escapes <, > and &, and
// reformats numbers, so its output never matches.
func Stringify(body []byte) ([]byte, error) {
	p := &parser{s: body}
	p.space()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, errNotJSON
	}
	var b strings.Builder
	v.write(&b)
	return []byte(b.String()), nil
}

var errNotJSON = errors.New("hmacsig: not JSON")

// maxDepth bounds nesting, so a hostile body cannot exhaust the stack.
const maxDepth = 1000

// jsValue is a parsed JSON value as JavaScript holds it.
type jsValue interface{ write(b *strings.Builder) }

type (
	jsLiteral string // true, false, null: written as is
	jsNumber  float64
	jsString  []uint16 // UTF-16 code units, as JavaScript strings are
	jsArray   []jsValue
	jsObject  struct {
		keys   []jsString
		values map[string]jsValue
	}
)

func (v jsLiteral) write(b *strings.Builder) { b.WriteString(string(v)) }

func (v jsNumber) write(b *strings.Builder) { b.WriteString(numberToString(float64(v))) }

func (v jsArray) write(b *strings.Builder) {
	b.WriteByte('[')
	for i, e := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		e.write(b)
	}
	b.WriteByte(']')
}

func (o *jsObject) write(b *strings.Builder) {
	var index, named []jsString
	for _, k := range o.keys {
		if _, ok := arrayIndex(k); ok {
			index = append(index, k)
		} else {
			named = append(named, k)
		}
	}
	// Integer-like keys come first, ascending (ECMAScript OrdinaryOwnPropertyKeys).
	sortByIndex(index)
	b.WriteByte('{')
	for i, k := range append(index, named...) {
		if i > 0 {
			b.WriteByte(',')
		}
		k.write(b)
		b.WriteByte(':')
		o.values[string(utf16Key(k))].write(b)
	}
	b.WriteByte('}')
}

func sortByIndex(keys []jsString) {
	for i := 1; i < len(keys); i++ { // insertion sort: few keys, stable
		for j := i; j > 0; j-- {
			a, _ := arrayIndex(keys[j-1])
			c, _ := arrayIndex(keys[j])
			if a <= c {
				break
			}
			keys[j-1], keys[j] = keys[j], keys[j-1]
		}
	}
}

// arrayIndex reports whether k is a canonical array index: digits with no
// leading zero, below 2^32-1.
func arrayIndex(k jsString) (uint64, bool) {
	if len(k) == 0 || len(k) > 10 || (len(k) > 1 && k[0] == '0') {
		return 0, false
	}
	var n uint64
	for _, c := range k {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, n < math.MaxUint32
}

// utf16Key is a map key for a string's code units.
func utf16Key(s jsString) []byte {
	out := make([]byte, 0, 2*len(s))
	for _, c := range s {
		out = append(out, byte(c>>8), byte(c))
	}
	return out
}

// write quotes s as JSON.stringify does (QuoteJSONString).
func (s jsString) write(b *strings.Builder) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		case utf16.IsSurrogate(rune(c)):
			if c < 0xdc00 && i+1 < len(s) && s[i+1] >= 0xdc00 && s[i+1] <= 0xdfff {
				b.WriteRune(utf16.DecodeRune(rune(c), rune(s[i+1])))
				i++
				continue
			}
			b.WriteString(`\u`)
			for shift := 12; shift >= 0; shift -= 4 {
				b.WriteByte(hex[(c>>shift)&0xf])
			}
		default:
			b.WriteRune(rune(c))
		}
	}
	b.WriteByte('"')
}

// numberToString is ECMAScript's Number::toString(x) for a finite x, and
// "null" for what JSON.stringify writes as null.
func numberToString(x float64) string {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return "null"
	}
	if x == 0 {
		return "0" // -0 too
	}
	sign := ""
	if x < 0 {
		sign, x = "-", -x
	}
	// The shortest digits that read back as x, and the decimal exponent.
	mant, exp, _ := strings.Cut(strconv.FormatFloat(x, 'e', -1, 64), "e")
	digits := strings.Replace(mant, ".", "", 1)
	e, _ := strconv.Atoi(exp)
	k, n := len(digits), e+1 // x = 0.digits × 10^n
	switch {
	case k <= n && n <= 21:
		return sign + digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		return sign + digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		return sign + "0." + strings.Repeat("0", -n) + digits
	}
	expSign := "+"
	if n-1 < 0 {
		expSign = "-"
	}
	expAbs := strconv.Itoa(abs(n - 1))
	if k == 1 {
		return sign + digits + "e" + expSign + expAbs
	}
	return sign + digits[:1] + "." + digits[1:] + "e" + expSign + expAbs
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// parser reads JSON (RFC 8259, as JSON.parse accepts it) into jsValues.
type parser struct {
	s []byte
	i int
}

func (p *parser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (jsValue, error) {
	if depth > maxDepth || p.i >= len(p.s) {
		return nil, errNotJSON
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		return p.string()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	for _, lit := range []string{"true", "false", "null"} {
		if strings.HasPrefix(string(p.s[p.i:min(p.i+5, len(p.s))]), lit) {
			p.i += len(lit)
			return jsLiteral(lit), nil
		}
	}
	return nil, errNotJSON
}

func (p *parser) object(depth int) (jsValue, error) {
	o := &jsObject{values: map[string]jsValue{}}
	return o, p.elements('}', func() error {
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return errNotJSON
		}
		k, err := p.string()
		if err != nil {
			return err
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return errNotJSON
		}
		p.i++
		p.space()
		v, err := p.value(depth + 1)
		if err != nil {
			return err
		}
		key := string(utf16Key(k))
		if _, seen := o.values[key]; !seen {
			o.keys = append(o.keys, k) // a repeated key keeps its first place
		}
		o.values[key] = v // and takes the last value
		return nil
	})
}

func (p *parser) array(depth int) (jsValue, error) {
	a := jsArray{}
	err := p.elements(']', func() error {
		v, err := p.value(depth + 1)
		a = append(a, v)
		return err
	})
	return a, err
}

// elements reads the comma-separated elements of an object or an array,
// from its opening bracket to its closing one (end), each with element.
func (p *parser) elements(end byte, element func() error) error {
	p.i++ // the opening bracket
	p.space()
	if p.i < len(p.s) && p.s[p.i] == end {
		p.i++
		return nil
	}
	for {
		p.space()
		if err := element(); err != nil {
			return err
		}
		p.space()
		if p.i >= len(p.s) {
			return errNotJSON
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case end:
			p.i++
			return nil
		default:
			return errNotJSON
		}
	}
}

func (p *parser) number() (jsValue, error) {
	start := p.i
	if p.s[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	intStart := p.i
	if n := digits(); n == 0 || (n > 1 && p.s[intStart] == '0') {
		return nil, errNotJSON
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, errNotJSON
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, errNotJSON
		}
	}
	// ParseFloat rounds as JavaScript's StringToNumber does (to nearest,
	// ties to even); out of range it answers ±Inf, which writes as null.
	f, err := strconv.ParseFloat(string(p.s[start:p.i]), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, errNotJSON
	}
	return jsNumber(f), nil
}

func (p *parser) string() (jsString, error) {
	p.i++ // "
	var out jsString
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return out, nil
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return nil, errNotJSON
			}
			esc := p.s[p.i+1]
			p.i += 2
			switch esc {
			case '"', '\\', '/':
				out = append(out, uint16(esc))
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				if p.i+4 > len(p.s) {
					return nil, errNotJSON
				}
				u, err := strconv.ParseUint(string(p.s[p.i:p.i+4]), 16, 16)
				if err != nil {
					return nil, errNotJSON
				}
				out = append(out, uint16(u))
				p.i += 4
			default:
				return nil, errNotJSON
			}
		case c < 0x20:
			return nil, errNotJSON
		default:
			r, size := utf8.DecodeRune(p.s[p.i:])
			p.i += size // invalid UTF-8 is RuneError (U+FFFD), one byte at a time
			out = append(out, utf16.AppendRune(nil, r)...)
		}
	}
	return nil, errNotJSON
}
