// Command userid_ref splits user IDs as go-crypto (Apptainer's OpenPGP library) does: each
// argument is wrapped in a user ID packet, read back with packet.Read, and its Name, Comment
// and Email are printed as a JSON array of triples. Used by tests/keys/user_id_test.ts.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

func main() {
	split := [][3]string{}
	for _, id := range os.Args[1:] {
		if len(id) > 191 {
			fmt.Fprintln(os.Stderr, "user ID too long for a one-byte length")
			os.Exit(2)
		}
		raw := append([]byte{0xcd, byte(len(id))}, id...)
		p, err := packet.Read(bytes.NewReader(raw))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		u := p.(*packet.UserId)
		split = append(split, [3]string{u.Name, u.Comment, u.Email})
	}
	if err := json.NewEncoder(os.Stdout).Encode(split); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
