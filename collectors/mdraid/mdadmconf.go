package mdraid

import (
	"strconv"
	"strings"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// MDAdmConfPaths are where mdadm reads its configuration (Debian's first),
// relative to the host root.
var MDAdmConfPaths = [][]string{{"etc", "mdadm", "mdadm.conf"}, {"etc", "mdadm.conf"}}

// ParseMDAdmConf reads the ARRAY lines of an mdadm.conf (mdadm.conf(5)):
// words separated by white space, a line starting with white space
// continues the previous one, '#' starts a comment, keywords may be
// shortened to three letters and are case-insensitive, "<ignore>" as the
// device means the line only tells mdadm to skip the array.
func ParseMDAdmConf(b []byte) []model.ConfArray {
	type logical struct {
		line  int
		words []string
	}
	var lines []logical
	for i, l := range strings.Split(string(b), "\n") {
		if c := strings.IndexByte(l, '#'); c >= 0 {
			l = l[:c]
		}
		words := strings.Fields(l)
		if len(words) == 0 {
			continue
		}
		if (l[0] == ' ' || l[0] == '\t') && len(lines) > 0 {
			lines[len(lines)-1].words = append(lines[len(lines)-1].words, words...)
			continue
		}
		lines = append(lines, logical{i + 1, words})
	}
	var out []model.ConfArray
	for _, l := range lines {
		kw := strings.ToUpper(l.words[0])
		if len(kw) < 3 || !strings.HasPrefix("ARRAY", kw) {
			continue
		}
		a := model.ConfArray{Spares: -1, Line: l.line}
		ignore := false
		for _, w := range l.words[1:] {
			k, v, ok := strings.Cut(w, "=")
			if !ok {
				if a.Device == "" {
					a.Device = w
					ignore = w == "<ignore>"
				}
				continue
			}
			switch strings.ToLower(k) {
			case "uuid":
				a.UUID = normUUID(v)
			case "name":
				a.Name = v
			case "level":
				a.Level = v
			case "spares":
				if n, err := strconv.Atoi(v); err == nil && n >= 0 {
					a.Spares = n
				}
			case "container", "member":
				a.External = true
			case "metadata":
				if !strings.HasPrefix(v, "0") && !strings.HasPrefix(v, "1") && v != "default" {
					a.External = true // imsm, ddf: a container
				}
			}
		}
		if ignore {
			continue
		}
		out = append(out, a)
	}
	return out
}

// readMDAdmConf returns the ARRAY lines of the first mdadm.conf found, nil
// when there is none.
func (c *Collector) readMDAdmConf() []model.ConfArray {
	for _, p := range MDAdmConfPaths {
		if b, err := c.FS.ReadFile(c.FS.Path(p...)); err == nil {
			if arrays := ParseMDAdmConf(b); len(arrays) > 0 {
				for i := range arrays {
					if n, ok := strings.CutPrefix(arrays[i].Device, "/dev/md/"); ok && n != "" && !strings.Contains(n, "/") {
						if k, err := c.FS.LinkBase(c.FS.Dev("md", n)); err == nil {
							arrays[i].Kernel = k
						}
					}
				}
				return arrays
			}
			return []model.ConfArray{}
		}
	}
	return nil
}
