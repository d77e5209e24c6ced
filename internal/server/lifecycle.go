package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// Component is a long-lived part of the server: the database, the IQ
// registry, each feature, each listener. Its constructor builds it without
// side effects on shared registries and starts no goroutine; Start
// registers it with the core (hooks, IQ handlers, router services), starts
// its goroutines and binds its ports; Stop undoes Start, draining what it
// accepted, bounded by ctx (docs/architecture.md, "Lifecycle").
type Component interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// lifecycle is the composition root's list of components, in the order
// they start. Stop runs in the reverse order, so a component is stopped
// before everything it was built on: nobody writes the stop order by hand.
type lifecycle struct {
	log   *slog.Logger
	comps []named
	// running is the number of components at the front of comps that are
	// running (started, or running since they were built).
	running int
}

type named struct {
	name string
	c    Component
}

// add appends c, to be started by start.
func (l *lifecycle) add(name string, c Component) {
	l.comps = append(l.comps, named{name, c})
}

// addRunning appends c, already running when it is built (the database,
// opened and migrated by New so that commands such as `gander register`
// can use it without starting the server). Only valid before start.
func (l *lifecycle) addRunning(name string, c Component) {
	if l.running != len(l.comps) {
		panic("server: addRunning after a component that is not running")
	}
	l.add(name, c)
	l.running++
}

// start starts the components that are not running yet, in order. When
// one fails, those running are stopped (in reverse order) and the error
// names the component.
func (l *lifecycle) start(ctx context.Context) error {
	for l.running < len(l.comps) {
		n := l.comps[l.running]
		if err := n.c.Start(ctx); err != nil {
			err = fmt.Errorf("%s: %w", n.name, err)
			if serr := l.stop(context.WithoutCancel(ctx)); serr != nil {
				l.log.Error("stop after a failed start", "err", serr)
			}
			return err
		}
		l.running++
	}
	return nil
}

// stop stops the running components in reverse order. A component that
// fails to stop is logged and the others are still stopped; the errors are
// joined.
func (l *lifecycle) stop(ctx context.Context) error {
	var errs []error
	for l.running > 0 {
		l.running--
		n := l.comps[l.running]
		if err := n.c.Stop(ctx); err != nil {
			l.log.Error("stop failed", "component", n.name, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", n.name, err))
		}
	}
	return errors.Join(errs...)
}
