package dashboards

import (
	"context"
	"fmt"
	"reflect"
	"strings"
)

// Outcome is what publishing did to one dashboard.
type Outcome string

const (
	Created   Outcome = "created"
	Updated   Outcome = "updated"
	Unchanged Outcome = "unchanged"
)

// Published is one dashboard after publishing.
type Published struct {
	UID, Title string
	Outcome    Outcome
	// Version is the dashboard's version in Grafana.
	Version int64
	// URL is where the dashboard is seen.
	URL string
}

// PublishResult is what Publish did.
type PublishResult struct {
	// FolderCreated is true when the folder did not exist before.
	FolderCreated bool
	Dashboards    []Published
}

// Summary says what changed in one line, e.g. "4 dashboards unchanged"
// or "1 created, 3 unchanged".
func (r PublishResult) Summary() string {
	counts := map[Outcome]int{}
	for _, d := range r.Dashboards {
		counts[d.Outcome]++
	}
	if counts[Unchanged] == len(r.Dashboards) && !r.FolderCreated {
		return fmt.Sprintf("%d dashboard%s unchanged", len(r.Dashboards), plural(len(r.Dashboards)))
	}
	var parts []string
	if r.FolderCreated {
		parts = append(parts, "folder created")
	}
	for _, o := range []Outcome{Created, Updated, Unchanged} {
		if n := counts[o]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, o))
		}
	}
	return fmt.Sprintf("%d dashboard%s: %s", len(r.Dashboards), plural(len(r.Dashboards)), strings.Join(parts, ", "))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// Folder is where dashboards are published.
type Folder struct {
	UID, Title string
}

// Publish creates the folder if it is missing, then creates or updates
// each dashboard by uid. A dashboard that Grafana already holds as built
// here, in the folder, is left alone: publishing twice changes nothing
// the second time. An update names the version it replaces, so a change
// made in Grafana in between is refused (412), not overwritten.
func Publish(ctx context.Context, c *Client, folder Folder, ds []Dashboard) (PublishResult, error) {
	var res PublishResult
	_, found, err := c.folder(ctx, folder.UID)
	if err != nil {
		return res, err
	}
	if !found {
		if err := c.createFolder(ctx, folder.UID, folder.Title); err != nil {
			return res, err
		}
		res.FolderCreated = true
	}
	for _, d := range ds {
		p, err := publishOne(ctx, c, folder, d)
		if err != nil {
			return res, err
		}
		res.Dashboards = append(res.Dashboards, p)
	}
	return res, nil
}

func publishOne(ctx context.Context, c *Client, folder Folder, d Dashboard) (Published, error) {
	p := Published{UID: d.UID, Title: d.Title, URL: c.URL() + "/d/" + d.UID}
	b, err := d.JSON()
	if err != nil {
		return p, err
	}
	model, err := normalize(jsonRaw(b))
	if err != nil {
		return p, fmt.Errorf("dashboard %s: %w", d.UID, err)
	}
	old, found, err := c.dashboard(ctx, d.UID)
	if err != nil {
		return p, err
	}
	if found && old.folderUID == folder.UID && sameDashboard(old.model, model) {
		p.Outcome, p.Version = Unchanged, old.version
		return p, nil
	}
	p.Outcome = Created
	message := "patchgate publish"
	if found {
		p.Outcome = Updated
	}
	p.Version, err = c.saveDashboard(ctx, model, folder.UID, old.version, message)
	return p, err
}

// sameDashboard compares a stored dashboard with a built one, leaving out
// what Grafana sets itself (id, version) and reading a null field as an
// absent one, as Grafana's storage may drop them.
func sameDashboard(stored, built map[string]any) bool {
	strip := func(m map[string]any) any {
		out := make(map[string]any, len(m))
		for k, v := range m {
			if k != "id" && k != "version" {
				out[k] = v
			}
		}
		return withoutNulls(out)
	}
	return reflect.DeepEqual(strip(stored), strip(built))
}

// withoutNulls drops the null fields of objects, at every depth.
func withoutNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if e != nil {
				out[k] = withoutNulls(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = withoutNulls(e)
		}
		return out
	}
	return v
}

// jsonRaw lets normalize decode JSON bytes.
type jsonRaw []byte

func (j jsonRaw) MarshalJSON() ([]byte, error) { return j, nil }
