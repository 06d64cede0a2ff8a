package ata

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// DriveEntry is one entry of smartmontools' drive database (drivedb.h):
// a model family, POSIX extended regexes for model and firmware, a warning
// and the preset options (-v, -F, -d).
type DriveEntry struct {
	Family, ModelRegex, FirmwareRegex, Warning, Presets string
	// Line is where the entry starts in the file, for messages.
	Line int

	prefixes     []string // literal prefixes of the model regex; empty = unknown
	once         sync.Once
	model, firmw *regexp.Regexp
	reErr        error
}

// DriveDB is a parsed drive database.
type DriveDB struct {
	// Default is the DEFAULT entry's attribute table, nil when the file
	// has none (the built-in table then applies).
	Default *Defs
	Entries []*DriveEntry
	// Version is the VERSION entry's text, when present.
	Version string
}

// ParseDriveDB parses the text of drivedb.h: a C array initializer of
// 5-string entries, with // and /* */ comments, adjacent string literals
// concatenated and C escapes. It does not evaluate anything else. Entries
// for USB bridges ("USB: ...") are kept (they carry -d presets) but never
// match an ATA model.
func ParseDriveDB(src []byte) (*DriveDB, error) {
	p := &dbParser{src: src, line: 1}
	db := &DriveDB{}
	for {
		tok, err := p.next()
		if err != nil {
			return db, err
		}
		if tok.kind == tEOF {
			break
		}
		if tok.kind != tLBrace {
			continue // ';', '}' of the array, stray commas
		}
		e, err := p.entry(tok.line)
		if err != nil {
			return db, err
		}
		switch {
		case strings.HasPrefix(e.Family, "VERSION"):
			db.Version = e.Family
		case e.Family == "DEFAULT":
			d := NewDefs()
			if err := d.applyPresets(e.Presets); err != nil {
				return db, fmt.Errorf("drivedb line %d: %w", e.Line, err)
			}
			db.Default = d
		default:
			e.prefixes = literalPrefixes(e.ModelRegex)
			db.Entries = append(db.Entries, e)
		}
	}
	if len(db.Entries) == 0 && db.Default == nil {
		return db, errors.New("drivedb: no entries")
	}
	return db, nil
}

// applyPresets applies the -v options of a presets string; other options
// (-F firmware bugs, -d types) are not about attributes and are ignored.
func (d *Defs) applyPresets(presets string) error {
	f := strings.Fields(presets)
	for i := 0; i < len(f); i++ {
		if f[i] != "-v" {
			continue
		}
		if i+1 >= len(f) {
			return fmt.Errorf("-v without an argument")
		}
		i++
		if err := d.ParseVendorAttribute(f[i]); err != nil {
			return err
		}
	}
	return nil
}

// Lookup finds the first entry whose model (and firmware, when it has a
// firmware regex) fully matches, and returns the attribute definitions to
// use: the DEFAULT table with the entry's -v presets on top. entry is nil
// when no model matched. An entry whose regex does not compile under Go's
// RE2 syntax is skipped.
func (db *DriveDB) Lookup(modelName, firmware string) (*Defs, *DriveEntry, error) {
	if db == nil {
		return nil, nil, nil
	}
	for _, e := range db.Entries {
		if strings.HasPrefix(e.Family, "USB:") {
			continue
		}
		if len(e.prefixes) > 0 && !hasAnyPrefix(modelName, e.prefixes) {
			continue
		}
		e.once.Do(e.compile)
		if e.reErr != nil || e.model == nil {
			continue
		}
		if !e.model.MatchString(modelName) {
			continue
		}
		if e.firmw != nil && !e.firmw.MatchString(firmware) {
			continue
		}
		over := NewDefs()
		if err := over.applyPresets(e.Presets); err != nil {
			return db.Default, e, fmt.Errorf("drivedb line %d (%s): %w", e.Line, e.Family, err)
		}
		return db.Default.Merge(over), e, nil
	}
	return db.Default, nil, nil
}

func (e *DriveEntry) compile() {
	if e.ModelRegex == "" || e.ModelRegex == "-" {
		return
	}
	e.model, e.reErr = regexp.Compile(`^(?:` + e.ModelRegex + `)$`)
	if e.reErr == nil && e.FirmwareRegex != "" && e.FirmwareRegex != "-" {
		e.firmw, e.reErr = regexp.Compile(`^(?:` + e.FirmwareRegex + `)$`)
	}
}

type tokKind int

const (
	tEOF tokKind = iota
	tLBrace
	tRBrace
	tComma
	tString
	tOther
)

type token struct {
	kind tokKind
	text string
	line int
}

type dbParser struct {
	src  []byte
	pos  int
	line int
}

// next returns the next token, skipping space and comments and joining
// adjacent string literals into one.
func (p *dbParser) next() (token, error) {
	if err := p.skip(); err != nil {
		return token{}, err
	}
	if p.pos >= len(p.src) {
		return token{kind: tEOF, line: p.line}, nil
	}
	line := p.line
	c := p.src[p.pos]
	switch c {
	case '{':
		p.pos++
		return token{tLBrace, "{", line}, nil
	case '}':
		p.pos++
		return token{tRBrace, "}", line}, nil
	case ',':
		p.pos++
		return token{tComma, ",", line}, nil
	case '"':
		var b strings.Builder
		for {
			s, err := p.literal()
			if err != nil {
				return token{}, err
			}
			b.WriteString(s)
			if err := p.skip(); err != nil {
				return token{}, err
			}
			if p.pos >= len(p.src) || p.src[p.pos] != '"' {
				break
			}
		}
		return token{tString, b.String(), line}, nil
	}
	p.pos++
	return token{tOther, string(c), line}, nil
}

// skip passes over white space and comments.
func (p *dbParser) skip() error {
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '\n':
			p.line++
			p.pos++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			p.pos++
		case c == '/' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '/':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		case c == '/' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '*':
			start := p.line
			end := strings.Index(string(p.src[p.pos+2:]), "*/")
			if end < 0 {
				return fmt.Errorf("drivedb line %d: unterminated comment", start)
			}
			p.line += strings.Count(string(p.src[p.pos:p.pos+2+end]), "\n")
			p.pos += end + 4
		case c == '#':
			// preprocessor line: skip it
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		default:
			return nil
		}
	}
	return nil
}

// literal reads one "..." literal at p.pos, decoding C escapes.
func (p *dbParser) literal() (string, error) {
	start := p.line
	p.pos++ // opening quote
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch c {
		case '"':
			p.pos++
			return b.String(), nil
		case '\n':
			return "", fmt.Errorf("drivedb line %d: newline in string", start)
		case '\\':
			if p.pos+1 >= len(p.src) {
				return "", fmt.Errorf("drivedb line %d: unterminated string", start)
			}
			e := p.src[p.pos+1]
			p.pos += 2
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '\\', '"', '\'', '?':
				b.WriteByte(e)
			case '\n':
				p.line++
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
			continue
		}
		b.WriteByte(c)
		p.pos++
	}
	return "", fmt.Errorf("drivedb line %d: unterminated string", start)
}

// entry reads "str, str, str, str, str }" after an opening brace.
func (p *dbParser) entry(line int) (*DriveEntry, error) {
	var f []string
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t.kind {
		case tString:
			f = append(f, t.text)
		case tComma:
		case tLBrace:
			if len(f) > 0 {
				return nil, fmt.Errorf("drivedb line %d: unexpected \"{\" in entry", t.line)
			}
			line = t.line // the array's own brace came first: this is the entry
		case tRBrace:
			if len(f) != 5 {
				return nil, fmt.Errorf("drivedb line %d: entry has %d strings, want 5", line, len(f))
			}
			return &DriveEntry{Family: f[0], ModelRegex: f[1], FirmwareRegex: f[2], Warning: f[3], Presets: f[4], Line: line}, nil
		case tEOF:
			return nil, fmt.Errorf("drivedb line %d: unterminated entry", line)
		default:
			return nil, fmt.Errorf("drivedb line %d: unexpected %q in entry", t.line, t.text)
		}
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
