package store

import "testing"

// TestMigrationsAreAppendOnly fails when a released migration's content
// changes, or a migration is added without recording its checksum.
func TestMigrationsAreAppendOnly(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	released, err := ReleasedChecksums()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, m := range ms {
		// Numbers are handed out ahead to work done in parallel, so one may
		// land before a smaller one: versions increase, with gaps.
		if i > 0 && m.Version <= ms[i-1].Version {
			t.Errorf("migration %s has version %d, not above %s's", m.Name, m.Version, ms[i-1].Name)
		}
		sum, ok := released[m.Name]
		switch {
		case !ok:
			t.Errorf("migration %s is not in migrations/checksums.txt; add the line %s  %s", m.Name, m.Checksum, m.Name)
		case sum != m.Checksum:
			t.Errorf("released migration %s was edited (checksum %s, released %s): add a new migration instead", m.Name, m.Checksum, sum)
		}
		seen[m.Name] = true
	}
	for name := range released {
		if !seen[name] {
			t.Errorf("released migration %s was deleted", name)
		}
	}
}
