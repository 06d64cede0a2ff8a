package ata

import "strings"

// literalPrefixes returns, for a POSIX extended regex that must match a
// whole string, literal strings one of which every match starts with (one
// per top-level alternative). It returns nil when it cannot tell (a branch
// starts with a group, class or wildcard, or the regex has flags): the
// caller then has to run the regex. It lets Lookup skip most of the drive
// database without compiling ~700 regexes, which dominates a one-shot run.
func literalPrefixes(re string) []string {
	if strings.Contains(re, "(?") {
		return nil
	}
	var out []string
	for _, br := range splitTopLevel(re) {
		p := branchPrefix(br)
		if p == "" {
			return nil
		}
		out = append(out, p)
	}
	return out
}

// splitTopLevel splits on '|' outside parentheses and brackets.
func splitTopLevel(re string) []string {
	var out []string
	depth, start := 0, 0
	inClass := false
	for i := 0; i < len(re); i++ {
		c := re[i]
		switch {
		case c == '\\':
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
			if i+1 < len(re) && re[i+1] == ']' {
				i++
			} else if i+2 < len(re) && re[i+1] == '^' && re[i+2] == ']' {
				i += 2
			}
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '|' && depth == 0:
			out = append(out, re[start:i])
			start = i + 1
		}
	}
	return append(out, re[start:])
}

// branchPrefix is the run of literal characters a branch starts with,
// minus a last character made optional by a following quantifier.
func branchPrefix(br string) string {
	var b strings.Builder
	for i := 0; i < len(br); i++ {
		c := br[i]
		switch {
		case c == '\\':
			if i+1 >= len(br) {
				return b.String()
			}
			n := br[i+1]
			if (n >= 'a' && n <= 'z') || (n >= 'A' && n <= 'Z') || (n >= '0' && n <= '9') {
				return b.String()
			}
			b.WriteByte(n)
			i++
		case strings.IndexByte(".[]()^$|", c) >= 0:
			return b.String()
		case strings.IndexByte("?*+{", c) >= 0:
			// the previous character is optional or repeated
			s := b.String()
			if len(s) > 0 {
				s = s[:len(s)-1]
			}
			return s
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
