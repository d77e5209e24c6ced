package mam

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/metrics"
)

// part is one half of the module: the one-to-one archive (mod_mam_pm) or
// the room archive (mod_mam_muc), with its effective options, writer and
// metrics.
type part struct {
	m     *Module
	kind  Kind
	opts  config.MamOptions
	rules rules
	w     *writer
	met   *partMetrics
	// archiveGroupchats and sameIDForPeers are pm's own options.
	archiveGroupchats bool
	sameIDForPeers    bool
}

func newPart(m *Module, kind Kind, o config.MamOptions, reg *metrics.Registry, domains []string) *part {
	p := &part{m: m, kind: kind, opts: o, rules: rules{groupchat: kind == KindMuc, markers: o.ArchiveChatMarkers},
		met: newPartMetrics(reg, kind, domains)}
	p.w = newWriter(m, p)
	return p
}

// features are the disco#info features of the part (docs/modules/mod_mam.md,
// "Discovery").
func (p *part) features() []string {
	f := []string{NS1, NS2, nsExtended, nsRetract}
	if p.kind == KindPM {
		f = append(f, nsGroupchatField)
		if p.archiveGroupchats {
			f = append(f, nsGroupchatAvail)
		}
	}
	if p.opts.MessageRetraction {
		f = append(f, nsRetract+"#tombstone", nsRetractByID)
	}
	return f
}

// partMetrics are a part's metrics (docs/metrics.md, mod_mam), labelled
// with host_type.
type partMetrics struct {
	reg   *metrics.Registry
	hosts []string
	// byHost holds the archiving path's metrics of each served domain,
	// looked up once (read-only after construction).
	byHost map[string]hostMetrics

	archived, lookups, simple, droppedIQ, dropped, removed *prometheus.CounterVec
	getPrefs, setPrefs, flushed                            *prometheus.CounterVec
	archiveTime, lookupSize, lookupTime                    *prometheus.HistogramVec
	flushTime, flushPerMsg                                 *prometheus.HistogramVec
}

func newPartMetrics(r *metrics.Registry, kind Kind, domains []string) *partMetrics {
	ev := "mod_mam_" + kind.String() + "_"
	spiral := func(event, metric string) *prometheus.CounterVec { return r.Spiral(ev+event, metric, "host_type") }
	hist := func(event, metric string) *prometheus.HistogramVec { return r.Histogram(ev+event, metric, "host_type") }
	pm := &partMetrics{reg: r, hosts: domains,
		archived: spiral("archive_message", "count"), archiveTime: hist("archive_message", "time"),
		lookups: spiral("lookup", "count"), lookupSize: hist("lookup", "size"), lookupTime: hist("lookup", "time"),
		droppedIQ: spiral("dropped_iq", "count"), dropped: spiral("dropped", "count"),
		removed: spiral("remove_archive", "count"), getPrefs: spiral("get_prefs", "count"), setPrefs: spiral("set_prefs", "count"),
		flushed: spiral("flushed", "count"), flushTime: hist("flushed", "time"), flushPerMsg: hist("flushed", "time_per_message"),
	}
	if kind == KindPM {
		pm.simple = spiral("lookup", "simple")
	}
	pm.byHost = map[string]hostMetrics{}
	for _, d := range domains {
		pm.byHost[d] = hostMetrics{archived: pm.archived.WithLabelValues(d), archiveTime: pm.archiveTime.WithLabelValues(d)}
	}
	// Spirals exist with 0 once the module runs (docs/metrics.md).
	for _, d := range domains {
		for _, c := range []*prometheus.CounterVec{pm.archived, pm.lookups, pm.simple, pm.droppedIQ, pm.dropped, pm.removed,
			pm.getPrefs, pm.setPrefs, pm.flushed} {
			if c != nil {
				c.WithLabelValues(d)
			}
		}
	}
	return pm
}

// hostMetrics are the metrics of the archiving path for one host type.
type hostMetrics struct {
	archived    prometheus.Counter
	archiveTime prometheus.Observer
}

// host returns the archiving path's metrics of a host type.
func (pm *partMetrics) host(h string) hostMetrics {
	if hm, ok := pm.byHost[h]; ok {
		return hm
	}
	return hostMetrics{archived: pm.archived.WithLabelValues(h), archiveTime: pm.archiveTime.WithLabelValues(h)}
}
