package checks

import (
	"strings"
	"unicode/utf8"
)

// keywordSet finds, in one pass over a text and ignoring ASCII case, which
// of a list of ASCII keywords it contains: an Aho-Corasick automaton, turned
// into a table of transitions per state and byte. It is the prefilter that
// decides which secret patterns' regexps run on a log line.
type keywordSet struct {
	// next[state<<8|byte] is the next state: a table of every uint16 index,
	// so that the scan needs no bounds check (at most 256 states).
	next *[1 << 16]uint16
	out  *[256]uint64 // out[state]: the keywords that end here, as bits
	// starts[b] says a keyword starts with byte b (either case).
	starts [256]bool
}

// newKeywordSet builds the automaton of at most 64 keywords.
func newKeywordSet(words []string) *keywordSet {
	if len(words) > 64 {
		panic("keywordSet: more than 64 keywords")
	}
	type node struct {
		child map[byte]int
		fail  int
		out   uint64
	}
	nodes := []node{{child: map[byte]int{}}}
	for i, w := range words {
		s := 0
		for _, c := range []byte(strings.ToLower(w)) {
			n, ok := nodes[s].child[c]
			if !ok {
				n = len(nodes)
				nodes = append(nodes, node{child: map[byte]int{}})
				nodes[s].child[c] = n
			}
			s = n
		}
		nodes[s].out |= 1 << i
	}
	if len(nodes) > 256 {
		panic("keywordSet: keywords too long")
	}
	next := make([][256]uint16, len(nodes))
	k := &keywordSet{next: new([1 << 16]uint16), out: new([256]uint64)}
	// Breadth first: a node's failure link is known before its children's.
	queue := []int{0}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		k.out[s] = nodes[s].out | nodes[nodes[s].fail].out
		if s == 0 {
			k.out[s] = nodes[s].out
		}
		for c := 0; c < 256; c++ {
			if n, ok := nodes[s].child[byte(c)]; ok {
				if s != 0 {
					nodes[n].fail = int(next[nodes[s].fail][c])
				}
				next[s][c] = uint16(n)
				queue = append(queue, n)
			} else if s != 0 {
				next[s][c] = next[nodes[s].fail][c]
			}
		}
	}
	for s, row := range next {
		copy(k.next[s<<8:], row[:])
	}
	for b := range k.starts {
		k.starts[b] = next[0][lowerByte[b]] != 0
	}
	return k
}

// lowerByte folds ASCII letters to lower case.
var lowerByte = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			t[i] = byte(i + 'a' - 'A')
		}
	}
	return t
}()

// find returns the keywords s contains, as bits, with ASCII letters folded
// to lower case. Text with other than ASCII is lowered by strings.ToLower
// first, as a case-insensitive search must (the Kelvin sign lowers to "k").
func (k *keywordSet) find(s string) uint64 {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			s = strings.ToLower(s)
			break
		}
	}
	var found uint64
	var state uint16
	next, out := k.next, k.out
	for i := 0; i < len(s); i++ {
		if state == 0 {
			// Outside any keyword: skip the bytes no keyword starts with.
			for i < len(s) && !k.starts[s[i]] {
				i++
			}
			if i == len(s) {
				break
			}
		}
		state = next[state<<8|uint16(lowerByte[s[i]])]
		found |= out[uint8(state)]
	}
	return found
}
