package main

import (
	"context"
	"fmt"
	"io"

	"github.com/urltracker/urltracker/config"
	"github.com/urltracker/urltracker/store"
)

func migrate(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	for _, name := range applied {
		fmt.Fprintln(stdout, "applied", name)
	}
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
	}
	return nil
}
