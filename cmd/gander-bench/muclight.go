package main

import (
	"context"
	"errors"
)

func (b *bench) muclight(ctx context.Context) error { return errors.New("muclight: not built yet") }

func (b *bench) broadcast(ctx context.Context) error { return errors.New("broadcast: not built yet") }
