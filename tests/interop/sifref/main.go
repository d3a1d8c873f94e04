// Command sifref is the reference harness of the siftrust interop tests.
//
// It is built against Debian's copy of the reference SIF library
// (github.com/sylabs/sif/v2 2.8.3, GOPATH mode, built by tests/helpers/sifref.ts) and lets tests
// build, load, extend, sign and verify SIF images exactly the way that library does.
//
// Usage:
//
//	sifref build OUT SPEC.json
//	sifref load IMAGE
//	sifref add IMAGE DATAFILE [--type T] [--group N] [--name S] [--link-object N]
//	    [--link-group N] [--alignment N] [--time UNIX] [--deterministic]
//	    [--part-fs N] [--part-type N] [--arch A]
//	sifref sign IMAGE --key KEYFILE [--passphrase P] [--group N]... [--objects 1,2]...
//	    [--time UNIX] [--deterministic]
//	sifref verify IMAGE [--keyring FILE]... [--group N]... [--object N]... [--legacy]
//	    [--legacy-all]
//
// Every successful command prints one JSON document on stdout. Harness errors print one
// line "error: ..." on stderr and exit with status 1. A failed verification is not a
// harness error: verify prints {"ok": false, ...} and exits 0.
package main

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/sylabs/sif/v2/pkg/integrity"
	"github.com/sylabs/sif/v2/pkg/sif"
)

const usage = `usage:
  sifref build OUT SPEC.json
  sifref load IMAGE
  sifref add IMAGE DATAFILE [--type T] [--group N] [--name S] [--link-object N] [--link-group N]
      [--alignment N] [--time UNIX] [--deterministic] [--part-fs N] [--part-type N] [--arch A]
  sifref sign IMAGE --key KEYFILE [--passphrase P] [--group N]... [--objects 1,2]...
      [--time UNIX] [--deterministic]
  sifref verify IMAGE [--keyring FILE]... [--group N]... [--object N]... [--legacy] [--legacy-all]`

func main() {
	if err := run(os.Args[1:]); err != nil {
		msg := strings.ReplaceAll(err.Error(), "\n", " ")
		fmt.Fprintf(os.Stderr, "error: %s\n", msg)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("missing command; " + strings.ReplaceAll(usage, "\n", " "))
	}
	switch args[0] {
	case "build":
		return cmdBuild(args[1:])
	case "load":
		return cmdLoad(args[1:])
	case "add":
		return cmdAdd(args[1:])
	case "sign":
		return cmdSign(args[1:])
	case "verify":
		return cmdVerify(args[1:])
	case "help", "-h", "--help":
		fmt.Println(usage)
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// printJSON writes v as one JSON document (and a newline) on stdout.
func printJSON(v interface{}) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// parseArgs parses flags that may appear before, between or after the positional
// arguments, and checks the number of positional arguments.
func parseArgs(fs *flag.FlagSet, args []string, nPositional int) ([]string, error) {
	fs.SetOutput(io.Discard)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fmt.Errorf("%s: %w", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	if len(positional) != nPositional {
		return nil, fmt.Errorf("%s: expected %d argument(s), got %d", fs.Name(), nPositional,
			len(positional))
	}
	return positional, nil
}

// uintList is a repeatable flag of unsigned integers; each use may hold a comma list.
type uintList struct {
	sets [][]uint32
}

func (l *uintList) String() string { return fmt.Sprint(l.sets) }

func (l *uintList) Set(s string) error {
	var ids []uint32
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := strconv.ParseUint(part, 10, 32)
		if err != nil {
			return fmt.Errorf("not an unsigned integer: %q", part)
		}
		ids = append(ids, uint32(n))
	}
	if len(ids) == 0 {
		return errors.New("empty list")
	}
	l.sets = append(l.sets, ids)
	return nil
}

func (l *uintList) all() []uint32 {
	var out []uint32
	for _, s := range l.sets {
		out = append(out, s...)
	}
	return out
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// ---------------------------------------------------------------------------------------
// Object specifications (build and add)

// objectSpec describes one data object. Pointer fields distinguish "omitted" (library
// default) from an explicit zero.
type objectSpec struct {
	Type        string  `json:"type"`
	File        string  `json:"file"`
	Data        *string `json:"data"` // inline UTF-8 content instead of file
	Group       *uint32 `json:"group"`
	LinkObject  *uint32 `json:"linkObject"`
	LinkGroup   *uint32 `json:"linkGroup"`
	Name        *string `json:"name"`
	Alignment   *int    `json:"alignment"`
	Time        *int64  `json:"time"`
	PartFs      *int32  `json:"partFs"`
	PartType    *int32  `json:"partType"`
	Arch        *string `json:"arch"`
	HashType    *int    `json:"hashType"`
	Entity      *string `json:"entity"`
	FormatType  *int32  `json:"formatType"`
	MessageType *int32  `json:"messageType"`
	SBOMFormat  *int32  `json:"sbomFormat"`
}

type buildSpec struct {
	Deterministic      bool         `json:"deterministic"`
	LaunchScript       *string      `json:"launchScript"`
	DescriptorCapacity *int64       `json:"descriptorCapacity"`
	ID                 *string      `json:"id"`   // UUID; overrides deterministic's nil UUID
	Time               *int64       `json:"time"` // image time; overrides deterministic's zero time
	Objects            []objectSpec `json:"objects"`
}

var dataTypes = map[string]sif.DataType{
	"deffile":       sif.DataDeffile,
	"envvar":        sif.DataEnvVar,
	"labels":        sif.DataLabels,
	"partition":     sif.DataPartition,
	"signature":     sif.DataSignature,
	"genericjson":   sif.DataGenericJSON,
	"generic":       sif.DataGeneric,
	"cryptomessage": sif.DataCryptoMessage,
	"sbom":          sif.DataSBOM,
}

// sifHashes maps the SIF descriptor Hashtype codes to Go hashes.
var sifHashes = map[int]crypto.Hash{
	1: crypto.SHA256,
	2: crypto.SHA384,
	3: crypto.SHA512,
	4: crypto.BLAKE2s_256,
	5: crypto.BLAKE2b_256,
}

func parseDataType(s string) (sif.DataType, error) {
	if dt, ok := dataTypes[strings.ToLower(s)]; ok {
		return dt, nil
	}
	if n, err := strconv.ParseInt(s, 0, 32); err == nil {
		return sif.DataType(n), nil
	}
	return 0, fmt.Errorf("unknown object type %q", s)
}

// descriptorInput turns a spec into a library DescriptorInput.
func (o objectSpec) descriptorInput() (sif.DescriptorInput, error) {
	fail := func(err error) (sif.DescriptorInput, error) {
		return sif.DescriptorInput{}, err
	}
	if o.Type == "" {
		return fail(errors.New("object without type"))
	}
	dt, err := parseDataType(o.Type)
	if err != nil {
		return fail(err)
	}

	var data []byte
	switch {
	case o.Data != nil && o.File != "":
		return fail(errors.New("object has both data and file"))
	case o.Data != nil:
		data = []byte(*o.Data)
	case o.File != "":
		if data, err = os.ReadFile(o.File); err != nil {
			return fail(err)
		}
	default:
		return fail(errors.New("object without file or data"))
	}

	var opts []sif.DescriptorInputOpt
	if o.Group != nil {
		if *o.Group == 0 {
			opts = append(opts, sif.OptNoGroup())
		} else {
			opts = append(opts, sif.OptGroupID(*o.Group))
		}
	}
	if o.LinkObject != nil {
		opts = append(opts, sif.OptLinkedID(*o.LinkObject))
	}
	if o.LinkGroup != nil {
		opts = append(opts, sif.OptLinkedGroupID(*o.LinkGroup))
	}
	if o.Name != nil {
		opts = append(opts, sif.OptObjectName(*o.Name))
	}
	if o.Alignment != nil {
		opts = append(opts, sif.OptObjectAlignment(*o.Alignment))
	}
	if o.Time != nil {
		opts = append(opts, sif.OptObjectTime(time.Unix(*o.Time, 0)))
	}

	// Type-specific metadata: only set when at least one of its fields is given; missing
	// companions take the defaults documented below.
	if o.PartFs != nil || o.PartType != nil || o.Arch != nil {
		fs, pt, arch := int32(1), int32(1), "amd64" // Squashfs, System, amd64
		if o.PartFs != nil {
			fs = *o.PartFs
		}
		if o.PartType != nil {
			pt = *o.PartType
		}
		if o.Arch != nil {
			arch = *o.Arch
		}
		opts = append(opts, sif.OptPartitionMetadata(sif.FSType(fs), sif.PartType(pt), arch))
	}
	if o.HashType != nil || o.Entity != nil {
		h := crypto.SHA256
		if o.HashType != nil {
			var ok bool
			if h, ok = sifHashes[*o.HashType]; !ok {
				return fail(fmt.Errorf("hashType %d not in 1..5", *o.HashType))
			}
		}
		var fp []byte
		if o.Entity != nil {
			if fp, err = hex.DecodeString(*o.Entity); err != nil {
				return fail(fmt.Errorf("entity: %w", err))
			}
		}
		opts = append(opts, sif.OptSignatureMetadata(h, fp))
	}
	if o.FormatType != nil || o.MessageType != nil {
		ft, mt := int32(sif.FormatOpenPGP), int32(sif.MessageClearSignature)
		if o.FormatType != nil {
			ft = *o.FormatType
		}
		if o.MessageType != nil {
			mt = *o.MessageType
		}
		opts = append(opts,
			sif.OptCryptoMessageMetadata(sif.FormatType(ft), sif.MessageType(mt)))
	}
	if o.SBOMFormat != nil {
		opts = append(opts, sif.OptSBOMMetadata(sif.SBOMFormat(*o.SBOMFormat)))
	}

	return sif.NewDescriptorInput(dt, bytes.NewReader(data), opts...)
}

// objectIDs lists the IDs of the used descriptors.
func objectIDs(f *sif.FileImage) []uint32 {
	ids := []uint32{}
	f.WithDescriptors(func(d sif.Descriptor) bool {
		ids = append(ids, d.ID())
		return false
	})
	return ids
}

func newIDs(before, after []uint32) []uint32 {
	seen := make(map[uint32]bool, len(before))
	for _, id := range before {
		seen[id] = true
	}
	out := []uint32{}
	for _, id := range after {
		if !seen[id] {
			out = append(out, id)
		}
	}
	return out
}

func unload(f *sif.FileImage, err *error) {
	if uerr := f.UnloadContainer(); uerr != nil && *err == nil {
		*err = uerr
	}
}

// ---------------------------------------------------------------------------------------
// build

func cmdBuild(args []string) (err error) {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	pos, err := parseArgs(fs, args, 2)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(pos[1])
	if err != nil {
		return err
	}
	var spec buildSpec
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return fmt.Errorf("spec: %w", err)
	}

	var opts []sif.CreateOpt
	if spec.Deterministic {
		opts = append(opts, sif.OptCreateDeterministic())
	} else {
		opts = append(opts, sif.OptCreateWithTime(time.Now()))
	}
	if spec.ID != nil {
		opts = append(opts, sif.OptCreateWithID(*spec.ID))
	}
	if spec.Time != nil {
		opts = append(opts, sif.OptCreateWithTime(time.Unix(*spec.Time, 0)))
	}
	if spec.LaunchScript != nil {
		opts = append(opts, sif.OptCreateWithLaunchScript(*spec.LaunchScript))
	}
	if spec.DescriptorCapacity != nil {
		opts = append(opts, sif.OptCreateWithDescriptorCapacity(*spec.DescriptorCapacity))
	}
	dis := make([]sif.DescriptorInput, 0, len(spec.Objects))
	for i, o := range spec.Objects {
		di, err := o.descriptorInput()
		if err != nil {
			return fmt.Errorf("object %d: %w", i, err)
		}
		dis = append(dis, di)
	}
	if len(dis) > 0 {
		opts = append(opts, sif.OptCreateWithDescriptors(dis...))
	}

	f, err := sif.CreateContainerAtPath(pos[0], opts...)
	if err != nil {
		return err
	}
	defer unload(f, &err)
	return printJSON(map[string]interface{}{"path": pos[0], "ids": objectIDs(f)})
}

// ---------------------------------------------------------------------------------------
// load

type headerJSON struct {
	LaunchScript      string `json:"launchScript"`
	Version           string `json:"version"`
	Arch              string `json:"arch"`
	ID                string `json:"id"`
	CreatedAt         int64  `json:"createdAt"`
	ModifiedAt        int64  `json:"modifiedAt"`
	DescriptorsFree   int64  `json:"descriptorsFree"`
	DescriptorsTotal  int64  `json:"descriptorsTotal"`
	DescriptorsOffset int64  `json:"descriptorsOffset"`
	DescriptorsSize   int64  `json:"descriptorsSize"`
	DataOffset        int64  `json:"dataOffset"`
	DataSize          int64  `json:"dataSize"`
}

type partitionJSON struct {
	Fs       int32  `json:"fs"`
	PartType int32  `json:"partType"`
	Arch     string `json:"arch"`
}

type signatureJSON struct {
	Hash   string `json:"hash"`   // Go name of the hash, e.g. "SHA-256"
	Entity string `json:"entity"` // uppercase hex fingerprint, "" when absent
}

type cryptoMessageJSON struct {
	FormatType  int32 `json:"formatType"`
	MessageType int32 `json:"messageType"`
}

type descriptorJSON struct {
	ID            uint32             `json:"id"`
	GroupID       uint32             `json:"groupId"`
	LinkedID      uint32             `json:"linkedId"`
	LinkedIsGroup bool               `json:"linkedIsGroup"`
	DataType      int32              `json:"dataType"`
	Offset        int64              `json:"offset"`
	Size          int64              `json:"size"`
	CreatedAt     int64              `json:"createdAt"`
	ModifiedAt    int64              `json:"modifiedAt"`
	Name          string             `json:"name"`
	SHA256        string             `json:"sha256"`
	Partition     *partitionJSON     `json:"partition,omitempty"`
	Signature     *signatureJSON     `json:"signature,omitempty"`
	CryptoMessage *cryptoMessageJSON `json:"cryptoMessage,omitempty"`
	SBOMFormat    *int32             `json:"sbomFormat,omitempty"`
	MetadataError string             `json:"metadataError,omitempty"`
}

func describe(d sif.Descriptor) (descriptorJSON, error) {
	linked, isGroup := d.LinkedID()
	out := descriptorJSON{
		ID:            d.ID(),
		GroupID:       d.GroupID(),
		LinkedID:      linked,
		LinkedIsGroup: isGroup,
		DataType:      int32(d.DataType()),
		Offset:        d.Offset(),
		Size:          d.Size(),
		CreatedAt:     d.CreatedAt().Unix(),
		ModifiedAt:    d.ModifiedAt().Unix(),
		Name:          d.Name(),
	}
	h := sha256.New()
	if _, err := io.Copy(h, d.GetReader()); err != nil {
		return out, fmt.Errorf("object %d: reading data: %w", d.ID(), err)
	}
	out.SHA256 = hex.EncodeToString(h.Sum(nil))

	var merr error
	switch d.DataType() {
	case sif.DataPartition:
		fs, pt, arch, err := d.PartitionMetadata()
		if merr = err; err == nil {
			out.Partition = &partitionJSON{int32(fs), int32(pt), arch}
		}
	case sif.DataSignature:
		ht, fp, err := d.SignatureMetadata()
		if merr = err; err == nil {
			out.Signature = &signatureJSON{ht.String(), strings.ToUpper(hex.EncodeToString(fp))}
		}
	case sif.DataCryptoMessage:
		ft, mt, err := d.CryptoMessageMetadata()
		if merr = err; err == nil {
			out.CryptoMessage = &cryptoMessageJSON{int32(ft), int32(mt)}
		}
	case sif.DataSBOM:
		sf, err := d.SBOMMetadata()
		if merr = err; err == nil {
			n := int32(sf)
			out.SBOMFormat = &n
		}
	}
	if merr != nil {
		out.MetadataError = merr.Error()
	}
	return out, nil
}

func cmdLoad(args []string) (err error) {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	pos, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	f, err := sif.LoadContainerFromPath(pos[0], sif.OptLoadWithFlag(os.O_RDONLY))
	if err != nil {
		return err
	}
	defer unload(f, &err)

	hdr := headerJSON{
		LaunchScript:      f.LaunchScript(),
		Version:           f.Version(),
		Arch:              f.PrimaryArch(),
		ID:                f.ID(),
		CreatedAt:         f.CreatedAt().Unix(),
		ModifiedAt:        f.ModifiedAt().Unix(),
		DescriptorsFree:   f.DescriptorsFree(),
		DescriptorsTotal:  f.DescriptorsTotal(),
		DescriptorsOffset: f.DescriptorsOffset(),
		DescriptorsSize:   f.DescriptorsSize(),
		DataOffset:        f.DataOffset(),
		DataSize:          f.DataSize(),
	}
	descs := []descriptorJSON{}
	var derr error
	f.WithDescriptors(func(d sif.Descriptor) bool {
		dj, err := describe(d)
		if err != nil {
			derr = err
			return true
		}
		descs = append(descs, dj)
		return false
	})
	if derr != nil {
		return derr
	}
	return printJSON(map[string]interface{}{"header": hdr, "descriptors": descs})
}

// ---------------------------------------------------------------------------------------
// add

// optionalUint32 / optionalInt record whether a flag was given.
type optionalUint32 struct{ v *uint32 }

func (o *optionalUint32) String() string { return "" }

func (o *optionalUint32) Set(s string) error {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return err
	}
	v := uint32(n)
	o.v = &v
	return nil
}

type optionalInt64 struct{ v *int64 }

func (o *optionalInt64) String() string { return "" }

func (o *optionalInt64) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return err
	}
	o.v = &n
	return nil
}

type optionalString struct{ v *string }

func (o *optionalString) String() string { return "" }

func (o *optionalString) Set(s string) error {
	o.v = &s
	return nil
}

func cmdAdd(args []string) (err error) {
	fs := flag.NewFlagSet("add", flag.ContinueOnError)
	typ := fs.String("type", "generic", "object type")
	var group, linkObject, linkGroup optionalUint32
	var align, tm, partFs, partType optionalInt64
	var name, arch optionalString
	fs.Var(&group, "group", "object group (0 = none; default 1)")
	fs.Var(&linkObject, "link-object", "linked object ID")
	fs.Var(&linkGroup, "link-group", "linked group ID")
	fs.Var(&align, "alignment", "alignment")
	fs.Var(&tm, "time", "object and modification time (Unix seconds)")
	fs.Var(&partFs, "part-fs", "partition file system type")
	fs.Var(&partType, "part-type", "partition type")
	fs.Var(&name, "name", "object name")
	fs.Var(&arch, "arch", "partition arch")
	deterministic := fs.Bool("deterministic", false, "zero modification time")
	pos, err := parseArgs(fs, args, 2)
	if err != nil {
		return err
	}

	o := objectSpec{
		Type: *typ, File: pos[1], Group: group.v, LinkObject: linkObject.v,
		LinkGroup: linkGroup.v, Name: name.v, Arch: arch.v,
	}
	if align.v != nil {
		n := int(*align.v)
		o.Alignment = &n
	}
	if partFs.v != nil {
		n := int32(*partFs.v)
		o.PartFs = &n
	}
	if partType.v != nil {
		n := int32(*partType.v)
		o.PartType = &n
	}
	di, err := o.descriptorInput()
	if err != nil {
		return err
	}

	var aopts []sif.AddOpt
	switch {
	case *deterministic:
		aopts = append(aopts, sif.OptAddDeterministic())
	case tm.v != nil:
		aopts = append(aopts, sif.OptAddWithTime(time.Unix(*tm.v, 0)))
	}

	f, err := sif.LoadContainerFromPath(pos[0])
	if err != nil {
		return err
	}
	defer unload(f, &err)
	before := objectIDs(f)
	if err := f.AddObject(di, aopts...); err != nil {
		return err
	}
	added := newIDs(before, objectIDs(f))
	if len(added) != 1 {
		return fmt.Errorf("expected one new object, found %v", added)
	}
	return printJSON(map[string]interface{}{"id": added[0]})
}

// ---------------------------------------------------------------------------------------
// sign

// readKeys reads an armored or binary OpenPGP key file.
func readKeys(path string) (openpgp.EntityList, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return openpgp.EntityList{}, nil
	}
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("-----BEGIN")) {
		el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return el, nil
	}
	el, err := openpgp.ReadKeyRing(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return el, nil
}

func signingEntity(path, passphrase string, havePass bool) (*openpgp.Entity, error) {
	el, err := readKeys(path)
	if err != nil {
		return nil, err
	}
	var e *openpgp.Entity
	for _, cand := range el {
		if cand.PrivateKey != nil {
			e = cand
			break
		}
	}
	if e == nil {
		return nil, fmt.Errorf("%s: no private key found", path)
	}
	if e.PrivateKey.Encrypted {
		if !havePass {
			return nil, errors.New("private key is encrypted; pass --passphrase")
		}
		if err := e.PrivateKey.Decrypt([]byte(passphrase)); err != nil {
			return nil, fmt.Errorf("decrypting private key: %w", err)
		}
		for _, sk := range e.Subkeys {
			if sk.PrivateKey != nil && sk.PrivateKey.Encrypted {
				if err := sk.PrivateKey.Decrypt([]byte(passphrase)); err != nil {
					return nil, fmt.Errorf("decrypting subkey: %w", err)
				}
			}
		}
	}
	return e, nil
}

func cmdSign(args []string) (err error) {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	key := fs.String("key", "", "armored or binary secret key file")
	var pass optionalString
	fs.Var(&pass, "passphrase", "passphrase of the secret key")
	var groups, objects uintList
	fs.Var(&groups, "group", "sign this group (repeatable)")
	fs.Var(&objects, "objects", "sign these objects, comma separated (repeatable)")
	var tm optionalInt64
	fs.Var(&tm, "time", "signature time (Unix seconds)")
	deterministic := fs.Bool("deterministic", false, "zero descriptor/header times")
	pos, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	if *key == "" {
		return errors.New("sign: --key is required")
	}
	passphrase := ""
	if pass.v != nil {
		passphrase = *pass.v
	}
	e, err := signingEntity(*key, passphrase, pass.v != nil)
	if err != nil {
		return err
	}

	opts := []integrity.SignerOpt{integrity.OptSignWithEntity(e)}
	for _, g := range groups.all() {
		opts = append(opts, integrity.OptSignGroup(g))
	}
	for _, ids := range objects.sets {
		opts = append(opts, integrity.OptSignObjects(ids...))
	}
	if tm.v != nil {
		t := time.Unix(*tm.v, 0)
		opts = append(opts, integrity.OptSignWithTime(func() time.Time { return t }))
	}
	if *deterministic {
		opts = append(opts, integrity.OptSignDeterministic())
	}

	f, err := sif.LoadContainerFromPath(pos[0])
	if err != nil {
		return err
	}
	defer unload(f, &err)
	before := objectIDs(f)
	s, err := integrity.NewSigner(f, opts...)
	if err != nil {
		return err
	}
	if err := s.Sign(); err != nil {
		return err
	}
	return printJSON(map[string]interface{}{
		"signatures":  newIDs(before, objectIDs(f)),
		"fingerprint": strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint)),
	})
}

// ---------------------------------------------------------------------------------------
// verify

type resultJSON struct {
	Signature   uint32   `json:"signature"`
	Objects     []uint32 `json:"objects"`
	Fingerprint string   `json:"fingerprint"`
	Error       string   `json:"error"`
}

type verifyJSON struct {
	OK            bool         `json:"ok"`
	Error         string       `json:"error"`
	Results       []resultJSON `json:"results"`
	AnySignedBy   []string     `json:"anySignedBy"`
	AllSignedBy   []string     `json:"allSignedBy"`
	SignedByError string       `json:"signedByError,omitempty"`
}

func hexList(fps [][]byte) []string {
	out := []string{}
	for _, fp := range fps {
		out = append(out, strings.ToUpper(hex.EncodeToString(fp)))
	}
	return out
}

func cmdVerify(args []string) (err error) {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	var keyrings stringList
	fs.Var(&keyrings, "keyring", "armored or binary public keyring (repeatable)")
	var groups, objects uintList
	fs.Var(&groups, "group", "verify this group (repeatable)")
	fs.Var(&objects, "object", "verify this object (repeatable)")
	legacy := fs.Bool("legacy", false, "verify legacy signatures")
	legacyAll := fs.Bool("legacy-all", false, "verify legacy signatures of all objects")
	pos, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}

	var opts []integrity.VerifierOpt
	if len(keyrings) > 0 {
		kr := openpgp.EntityList{}
		for _, path := range keyrings {
			el, err := readKeys(path)
			if err != nil {
				return err
			}
			kr = append(kr, el...)
		}
		opts = append(opts, integrity.OptVerifyWithKeyRing(kr))
	}
	for _, g := range groups.all() {
		opts = append(opts, integrity.OptVerifyGroup(g))
	}
	for _, id := range objects.all() {
		opts = append(opts, integrity.OptVerifyObject(id))
	}
	if *legacy {
		opts = append(opts, integrity.OptVerifyLegacy())
	}
	if *legacyAll {
		opts = append(opts, integrity.OptVerifyLegacyAll())
	}
	out := verifyJSON{Results: []resultJSON{}, AnySignedBy: []string{}, AllSignedBy: []string{}}
	opts = append(opts, integrity.OptVerifyCallback(func(r integrity.VerifyResult) bool {
		res := resultJSON{Signature: r.Signature().ID(), Objects: []uint32{}}
		for _, d := range r.Verified() {
			res.Objects = append(res.Objects, d.ID())
		}
		if e := r.Entity(); e != nil && e.PrimaryKey != nil {
			res.Fingerprint = strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint))
		}
		if r.Error() != nil {
			res.Error = r.Error().Error()
		}
		out.Results = append(out.Results, res)
		return false
	}))

	// Read-only: verification must never change the image.
	f, err := sif.LoadContainerFromPath(pos[0], sif.OptLoadWithFlag(os.O_RDONLY))
	if err != nil {
		return err
	}
	defer unload(f, &err)

	v, verr := integrity.NewVerifier(f, opts...)
	if verr != nil {
		out.Error = verr.Error()
		return printJSON(out)
	}
	var serr error
	if fps, err := v.AnySignedBy(); err != nil {
		serr = err
	} else {
		out.AnySignedBy = hexList(fps)
	}
	if fps, err := v.AllSignedBy(); err != nil {
		serr = err
	} else {
		out.AllSignedBy = hexList(fps)
	}
	if serr != nil {
		out.SignedByError = serr.Error()
	}
	if err := v.Verify(); err != nil {
		out.Error = err.Error()
	} else {
		out.OK = true
	}
	return printJSON(out)
}
