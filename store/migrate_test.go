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
		// Versions increase; they may skip numbers, since parallel
		// branches are each given their own number ahead of merging.
		prev := 0
		if i > 0 {
			prev = ms[i-1].Version
		}
		if m.Version <= prev || i == 0 && m.Version != 1 {
			t.Errorf("migration %s has version %d after %d: versions increase from 1", m.Name, m.Version, prev)
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
