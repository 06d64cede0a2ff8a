package config

import (
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// MaxFileSize bounds a configuration file (and a file it names, such as a
// password_file): a real one is a few kilobytes; a huge one is a mistake
// or an attack on memory (a 70 MB file listing a million devices took
// 4.9 GB and 75 s to load).
const MaxFileSize = 1 << 20

// ReadTrusted reads a file diskwatch takes orders from (the configuration
// runs commands, as root under the shipped unit): it must be a regular
// file of at most MaxFileSize, owned by root or by the user diskwatch runs
// as, and not writable by group or others; so must every directory above
// it (a root-owned sticky directory such as /tmp excepted: nobody else can
// rename what is in it). Symbolic links are followed and their targets
// checked. The content read is the content checked: one open file.
func ReadTrusted(path string) ([]byte, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, err
	}
	real, err = filepath.Abs(real)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(real, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &Error{File: path, Msg: fmt.Sprintf("not a regular file (%s)", st.Mode().Type())}
	}
	if err := trusted(path, real, st, false); err != nil {
		return nil, err
	}
	for d := filepath.Dir(real); ; d = filepath.Dir(d) {
		dst, err := os.Stat(d)
		if err != nil {
			return nil, err
		}
		if err := trusted(path, d, dst, true); err != nil {
			return nil, err
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	if st.Size() > MaxFileSize {
		return nil, &Error{File: path, Msg: fmt.Sprintf("%d bytes, larger than the %d a configuration may have", st.Size(), MaxFileSize)}
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, &Error{File: path, Msg: fmt.Sprintf("larger than the %d bytes a configuration may have", MaxFileSize)}
	}
	return b, nil
}

// trusted checks the owner and mode of p (the file, or a directory above
// it) for the file named shown.
func trusted(shown, p string, st os.FileInfo, dir bool) error {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	what := "it"
	if dir {
		what = "its directory " + p
	}
	me := os.Geteuid()
	if int(sys.Uid) != 0 && int(sys.Uid) != me {
		fix := fmt.Sprintf("chown root %s", p)
		if me != 0 {
			fix = fmt.Sprintf("chown %d %s (or root)", me, p)
		}
		return &Error{File: shown, Msg: fmt.Sprintf("%s is owned by %s, not by root or the user diskwatch runs as (%s): refusing it, as whoever owns it could make diskwatch run commands; %s",
			what, userName(sys.Uid), userName(uint32(me)), fix)}
	}
	perm := st.Mode().Perm()
	if perm&0o022 == 0 {
		return nil
	}
	if dir && st.Mode()&os.ModeSticky != 0 && sys.Uid == 0 {
		return nil // /tmp: others cannot rename or replace what is not theirs
	}
	who := "group"
	flag := "g-w"
	switch {
	case perm&0o022 == 0o022:
		who, flag = "group and others", "go-w"
	case perm&0o002 != 0:
		who, flag = "every user", "o-w"
	}
	return &Error{File: shown, Msg: fmt.Sprintf("%s is writable by %s (mode %04o): refusing it, as they could make diskwatch run commands; chmod %s %s", what, who, perm, flag, p)}
}

func userName(uid uint32) string {
	s := strconv.Itoa(int(uid))
	if u, err := user.LookupId(s); err == nil {
		return u.Username + " (uid " + s + ")"
	}
	return "uid " + s
}
