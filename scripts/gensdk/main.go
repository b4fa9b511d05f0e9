// Generates a Python or Go SDK of a Pulumi package schema with the code generators that
// `pulumi package gen-sdk` runs: pkg/v3/codegen/python and pkg/v3/codegen/go, at the CLI's
// version. The CLI reaches them through the language hosts (pulumi-language-python,
// pulumi-language-go), which cannot be built where the Go module proxy refuses their modules;
// this calls the same functions directly (scripts/sdks.sh builds and caches it).
//
//	gensdk python|go SCHEMA.json OUT_DIR
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/blang/semver"
	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	pygen "github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

// noPackages: the schema refers to no other package, so the generators never load one.
type noPackages struct{}

func (noPackages) LoadPackage(pkg string, _ *semver.Version) (*schema.Package, error) {
	return nil, fmt.Errorf("the schema refers to package %s, which this tool does not load", pkg)
}

func (l noPackages) LoadPackageV2(_ context.Context, d *schema.PackageDescriptor) (*schema.Package, error) {
	return l.LoadPackage(d.Name, nil)
}

func (l noPackages) LoadPackageReference(pkg string, v *semver.Version) (schema.PackageReference, error) {
	_, err := l.LoadPackage(pkg, v)
	return nil, err
}

func (l noPackages) LoadPackageReferenceV2(_ context.Context, d *schema.PackageDescriptor) (schema.PackageReference, error) {
	return l.LoadPackageReference(d.Name, nil)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gensdk: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 4 || (os.Args[1] != "python" && os.Args[1] != "go") {
		fail("usage: gensdk python|go SCHEMA.json OUT_DIR")
	}
	lang, schemaPath, out := os.Args[1], os.Args[2], os.Args[3]
	raw, err := os.ReadFile(schemaPath)
	if err != nil {
		fail("%v", err)
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		fail("%s: %v", schemaPath, err)
	}
	pkg, diags, err := schema.BindSpec(spec, noPackages{}, schema.ValidationOptions{})
	if err != nil {
		fail("%s: %v", schemaPath, err)
	}
	if diags.HasErrors() {
		fail("%s: %v", schemaPath, diags)
	}
	var files map[string][]byte
	switch lang {
	case "python":
		files, err = pygen.GeneratePackage("pulumi", pkg, nil, noPackages{})
	case "go":
		files, err = gogen.GeneratePackage("pulumi", pkg, nil)
	}
	if err != nil {
		fail("generating the %s SDK: %v", lang, err)
	}
	for name, content := range files {
		p := filepath.Join(out, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			fail("%v", err)
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			fail("%v", err)
		}
	}
}
