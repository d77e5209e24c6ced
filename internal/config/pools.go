package config

// OutgoingPools is [outgoing_pools]. Only RDBMS pools are supported.
type OutgoingPools struct {
	// RDBMS maps pool tags to pools ([outgoing_pools.rdbms.TAG]); Gander
	// uses the pool tagged "default".
	RDBMS map[string]*Pool `toml:"rdbms"`
}

// Pool is one [outgoing_pools.rdbms.TAG] table.
type Pool struct {
	// Scope is "global" (default), "host_type", "single_host" or
	// "single_host_type"; accepted (Gander uses one pool for all hosts).
	Scope string `toml:"scope"`
	// Host is required with scope "single_host".
	Host string `toml:"host"`
	// HostType is required with scope "single_host_type".
	HostType string `toml:"host_type"`
	// Workers is the number of connections (default 10).
	Workers int `toml:"workers"`
	// Strategy is the worker selection strategy (default "best_worker");
	// accepted.
	Strategy string `toml:"strategy"`
	// CallTimeout is in milliseconds (default 60000).
	CallTimeout int `toml:"call_timeout"`
	// Connection describes the database.
	Connection Connection `toml:"connection"`
}

// Connection is [outgoing_pools.rdbms.TAG.connection].
type Connection struct {
	// Driver is "pgsql" or, as a Gander addition, "sqlite". "mysql" and
	// "cockroachdb" are rejected as not supported yet.
	Driver string `toml:"driver"`
	// Host defaults to "localhost" (unused for sqlite).
	Host string `toml:"host"`
	// Port defaults to 5432 for pgsql (unused for sqlite).
	Port int `toml:"port"`
	// Database is the database name, or for sqlite the file path.
	Database string `toml:"database"`
	// Username is required for pgsql.
	Username string `toml:"username"`
	// Password is required for pgsql.
	Password string `toml:"password"`
	// QueryTimeout is in milliseconds (default 5000).
	QueryTimeout int `toml:"query_timeout"`
	// KeepaliveInterval is in seconds; 0 = no keepalive queries.
	KeepaliveInterval int `toml:"keepalive_interval"`
	// MaxStartInterval is accepted.
	MaxStartInterval int `toml:"max_start_interval"`
	// TLS configures TLS to the database server when non-nil.
	TLS *DBTLS `toml:"tls"`
}

// DBTLS is a database connection's tls table.
type DBTLS struct {
	// Required refuses to connect without TLS.
	Required bool `toml:"required"`
	// VerifyMode is "peer" (default), "selfsigned_peer" or "none".
	VerifyMode string `toml:"verify_mode"`
	// CACertFile is the PEM CA bundle.
	CACertFile string `toml:"cacertfile"`
	// CertFile is the client certificate.
	CertFile string `toml:"certfile"`
	// KeyFile is the client key.
	KeyFile string `toml:"keyfile"`
	// Password decrypts KeyFile; accepted.
	Password string `toml:"password"`
	// Ciphers is accepted and ignored.
	Ciphers string `toml:"ciphers"`
	// Versions lists allowed TLS versions; accepted.
	Versions []string `toml:"versions"`
	// ServerNameIndication controls SNI.
	ServerNameIndication *SNI `toml:"server_name_indication"`
}

// SNI is the server_name_indication table of DBTLS.
type SNI struct {
	// Enabled defaults to true.
	Enabled bool `toml:"enabled"`
	// Host overrides the server name sent.
	Host string `toml:"host"`
	// Protocol is "default" or "https"; accepted.
	Protocol string `toml:"protocol"`
}

func (o *OutgoingPools) check(c *checker) {
	for _, tag := range sortedKeys(o.RDBMS) {
		p := o.RDBMS[tag]
		key := joinKey("outgoing_pools.rdbms", tag)
		if p == nil {
			continue
		}
		if tag != "default" {
			c.notImplemented(key, "pools other than the one tagged default", "Gander uses outgoing_pools.rdbms.default")
		}
		p.check(c, key)
	}
}

func (p *Pool) check(c *checker, key string) {
	c.oneOf(key+".scope", &p.Scope, "global", "global", "host_type", "single_host", "single_host_type")
	switch p.Scope {
	case "host_type":
		c.warnf(key+".scope", "accepted and ignored: Gander opens one pool, used by every host type (as with \"global\")")
	case "single_host", "single_host_type":
		c.notImplemented(key+".scope", "pools that serve a single host or host type")
	}
	switch p.Scope {
	case "single_host":
		c.required(key+".host", p.Host)
	case "single_host_type":
		c.required(key+".host_type", p.HostType)
	}
	c.intDefault(key+".workers", &p.Workers, 10, 1)
	c.oneOf(key+".strategy", &p.Strategy, "best_worker",
		"best_worker", "random_worker", "next_worker", "available_worker", "next_available_worker")
	c.intDefault(key+".call_timeout", &p.CallTimeout, 60000, 1)
	p.Connection.check(c, key+".connection")
	if p.Connection.Driver == "sqlite" && c.ix.has(key+".workers") {
		c.warnf(key+".workers", "accepted and ignored with sqlite: Gander sizes the pool of an SQLite file itself (4 connections, one writer at a time)")
	}
}

func (d *Connection) check(c *checker, key string) {
	if !c.ix.has(key) {
		c.errorf(key, "is required")
		return
	}
	c.oneOf(key+".driver", &d.Driver, "", "pgsql", "sqlite", "mysql", "cockroachdb")
	switch d.Driver {
	case "":
		c.errorf(key+".driver", "is required")
	case "mysql", "cockroachdb":
		c.errorf(key+".driver", "%q is not supported by Gander yet (use \"pgsql\" or \"sqlite\")", d.Driver)
	case "pgsql":
		if d.Host == "" {
			d.Host = "localhost"
		}
		c.intDefault(key+".port", &d.Port, 5432, 1)
		if d.Port > 65535 {
			c.errorf(key+".port", "must be between 1 and 65535, got %d", d.Port)
		}
		c.required(key+".database", d.Database)
		c.required(key+".username", d.Username)
		c.required(key+".password", d.Password)
	case "sqlite":
		c.required(key+".database", d.Database)
		if c.ix.has(key + ".query_timeout") {
			c.warnf(key+".query_timeout", "accepted and ignored with sqlite (it bounds PostgreSQL statements)")
		}
	}
	c.intDefault(key+".query_timeout", &d.QueryTimeout, 5000, 1)
	c.intDefault(key+".keepalive_interval", &d.KeepaliveInterval, 0, 0)
	if d.TLS != nil {
		c.oneOf(key+".tls.verify_mode", &d.TLS.VerifyMode, "peer", "peer", "selfsigned_peer", "none")
		if d.TLS.ServerNameIndication != nil {
			c.boolDefault(key+".tls.server_name_indication.enabled", &d.TLS.ServerNameIndication.Enabled, true)
		}
	}
}
