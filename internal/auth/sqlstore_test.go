package auth

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
)

// testCredentials returns distinct credentials cheaply (few iterations).
func testCredentials(t *testing.T, password string) Credentials {
	t.Helper()
	c, err := NewCredentials(password, 64)
	require.NoError(t, err)
	return c
}

func TestSQLStoreRoundTrip(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewSQLStore(d)
		c := testCredentials(t, "secret")
		created := time.Date(2024, 2, 29, 23, 59, 58, 123456789, time.FixedZone("X", 3600))

		require.NoError(t, s.CreateUser(ctx, "example.com", "alice", c, created))

		got, err := s.Credentials(ctx, "example.com", "alice")
		require.NoError(t, err)
		require.Equal(t, c, got)
		require.True(t, got.CheckPassword("secret"))
		require.False(t, got.CheckPassword("Secret"))

		at, err := s.CreatedAt(ctx, "example.com", "alice")
		require.NoError(t, err)
		require.Equal(t, created.Truncate(time.Microsecond).UTC(), at)
		require.Equal(t, time.UTC, at.Location())

		ok, err := s.UserExists(ctx, "example.com", "alice")
		require.NoError(t, err)
		require.True(t, ok)

		c2 := testCredentials(t, "new secret")
		require.NoError(t, s.SetCredentials(ctx, "example.com", "alice", c2))
		got, err = s.Credentials(ctx, "example.com", "alice")
		require.NoError(t, err)
		require.Equal(t, c2, got)
		require.True(t, got.CheckPassword("new secret"))

		require.NoError(t, s.RemoveUser(ctx, "example.com", "alice"))
		ok, err = s.UserExists(ctx, "example.com", "alice")
		require.NoError(t, err)
		require.False(t, ok)
	})
}

func TestSQLStoreErrors(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewSQLStore(d)
		c := testCredentials(t, "secret")
		require.NoError(t, s.CreateUser(ctx, "example.com", "alice", c, time.Now()))

		tests := []struct {
			name string
			call func() error
			want error
		}{
			{"create existing", func() error {
				return s.CreateUser(ctx, "example.com", "alice", c, time.Now())
			}, ErrUserExists},
			{"credentials missing", func() error {
				_, err := s.Credentials(ctx, "example.com", "bob")
				return err
			}, ErrUserNotFound},
			{"credentials other server", func() error {
				_, err := s.Credentials(ctx, "example.org", "alice")
				return err
			}, ErrUserNotFound},
			{"set credentials missing", func() error {
				return s.SetCredentials(ctx, "example.com", "bob", c)
			}, ErrUserNotFound},
			{"remove missing", func() error {
				return s.RemoveUser(ctx, "example.com", "bob")
			}, ErrUserNotFound},
			{"created at missing", func() error {
				_, err := s.CreatedAt(ctx, "example.com", "bob")
				return err
			}, ErrUserNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				require.ErrorIs(t, tt.call(), tt.want)
			})
		}
		ok, err := s.UserExists(ctx, "example.com", "bob")
		require.NoError(t, err)
		require.False(t, ok)
	})
}

func TestSQLStoreListAndCount(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewSQLStore(d)
		c := testCredentials(t, "secret")
		// Inserted out of order; sorting is byte-wise on both backends.
		for _, u := range []string{"carol", "Bob", "alice", "a_b", "ab", "dave"} {
			require.NoError(t, s.CreateUser(ctx, "example.com", u, c, time.Now()))
		}
		require.NoError(t, s.CreateUser(ctx, "example.org", "zed", c, time.Now()))

		tests := []struct {
			name          string
			limit, offset int
			want          []string
		}{
			{"all", 0, 0, []string{"Bob", "a_b", "ab", "alice", "carol", "dave"}},
			{"negative limit is all", -1, 0, []string{"Bob", "a_b", "ab", "alice", "carol", "dave"}},
			{"first page", 2, 0, []string{"Bob", "a_b"}},
			{"second page", 2, 2, []string{"ab", "alice"}},
			{"last page short", 4, 4, []string{"carol", "dave"}},
			{"offset without limit", 0, 3, []string{"alice", "carol", "dave"}},
			{"past the end", 2, 10, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.ListUsers(ctx, "example.com", tt.limit, tt.offset)
				require.NoError(t, err)
				require.Equal(t, tt.want, got)
			})
		}

		n, err := s.CountUsers(ctx, "example.com")
		require.NoError(t, err)
		require.Equal(t, 6, n)
		n, err = s.CountUsers(ctx, "nowhere.example")
		require.NoError(t, err)
		require.Zero(t, n)
	})
}

// TestSQLStoreServersAreSeparate checks that the same username on two
// servers is two accounts, and removing one leaves the other.
func TestSQLStoreServersAreSeparate(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewSQLStore(d)
		c1, c2 := testCredentials(t, "one"), testCredentials(t, "two")
		require.NoError(t, s.CreateUser(ctx, "one.example", "alice", c1, time.Now()))
		require.NoError(t, s.CreateUser(ctx, "two.example", "alice", c2, time.Now()))
		require.NoError(t, s.CreateUser(ctx, "one.example", "bob", c1, time.Now()))

		require.NoError(t, s.RemoveUser(ctx, "one.example", "alice"))

		got, err := s.Credentials(ctx, "two.example", "alice")
		require.NoError(t, err)
		require.Equal(t, c2, got)
		ok, err := s.UserExists(ctx, "one.example", "bob")
		require.NoError(t, err)
		require.True(t, ok)
	})
}

func TestSQLStoreConcurrentCreate(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewSQLStore(d)
		const racers = 8
		creds := make([]Credentials, racers)
		for i := range creds {
			creds[i] = testCredentials(t, fmt.Sprint("pw", i))
		}
		for round := range 5 {
			user := fmt.Sprint("racer", round)
			start := make(chan struct{})
			errs := make([]error, racers)
			var wg sync.WaitGroup
			for i := range racers {
				wg.Go(func() {
					<-start
					errs[i] = s.CreateUser(ctx, "example.com", user, creds[i], time.Now())
				})
			}
			close(start)
			wg.Wait()

			winner := -1
			for i, err := range errs {
				if err == nil {
					require.Equal(t, -1, winner, "two creates of %s succeeded", user)
					winner = i
					continue
				}
				require.ErrorIs(t, err, ErrUserExists)
			}
			require.NotEqual(t, -1, winner, "no create of %s succeeded", user)
			got, err := s.Credentials(ctx, "example.com", user)
			require.NoError(t, err)
			require.Equal(t, creds[winner], got, "the stored credentials are the winner's")
		}
	})
}
