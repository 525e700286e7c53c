/*
 * summary.c - what a run says about itself: the statistics printed on
 * SIGUSR1 and at the end, and the progress bar while a file is read.
 *
 * The decoder's side of the figures (sessions, incidents by type, the
 * SMTP anomalies, what the per-session caps cut) is summed here, one
 * session record at a time, from main's session_end sink; the capture's
 * side is read from cap_stats() when printing.  Incident types are listed
 * most frequent first, as the usual tools sort their counters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "cli/cli.h"
#include "decode/export.h"

void
summary_add(struct summary *r, const struct sess_record *rec)
{
	size_t i;

	r->sessions++;
	for (i = 0; i < SAN_MAX; i++)
		r->san[i] += rec->anomalies[i];
	r->cut_caps += rec->caps_dropped;
	r->cut_tx += rec->tx_dropped;
	r->cut_lines += rec->lines_dropped;
	for (i = 0; i < rec->ntx; i++)
		r->cut_rcpts += rec->tx[i].rcpts_dropped;
	inc_tally_add(&r->by_type, rec);
	if (rec->flags & SF_TLS) {
		r->tls++;
		if ((unsigned)rec->tls.decryption <= TD_UNSUPPORTED)
			r->tls_dec[rec->tls.decryption]++;
		r->tls_bad_records += rec->tls.bad_records;
	}
}

void
summary_silent(struct summary *r, int family, const uint8_t ip[16], bool answered)
{
	size_t i;

	r->silent++;
	if (!answered)
		r->silent_unanswered++;
	for (i = 0; i < r->nsilent_by; i++)
		if (r->silent_by[i].family == family &&
		    memcmp(r->silent_by[i].ip, ip, 16) == 0) {
			r->silent_by[i].n++;
			return;
		}
	if (r->nsilent_by == SUMMARY_SILENT_SERVERS) {
		r->silent_other++;
		return;
	}
	r->silent_by[i].family = family;
	memcpy(r->silent_by[i].ip, ip, 16);
	r->silent_by[i].n = 1;
	r->nsilent_by++;
}

/* "  flows without payload: ..." with the servers they went to, most
 * first. */
static void
print_silent(FILE *f, const struct summary *r)
{
	size_t order[SUMMARY_SILENT_SERVERS], i, j, n = r->nsilent_by;
	char a[EXPORT_ADDR_SIZE];

	if (r->silent == 0)
		return;
	for (i = 0; i < n; i++) {
		for (j = i; j > 0 && r->silent_by[order[j - 1]].n < r->silent_by[i].n; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	fprintf(f, "  flows without payload (no session): %llu, %llu of them "
	    "half-open (the server never answered)\n    to:",
	    (unsigned long long)r->silent, (unsigned long long)r->silent_unanswered);
	for (i = 0; i < n; i++) {
		const uint8_t *ip = r->silent_by[order[i]].ip;

		fprintf(f, "%s %s x%llu", i ? "," : "",
		    export_fmt_addr(a, sizeof(a), r->silent_by[order[i]].family, ip, -1),
		    (unsigned long long)r->silent_by[order[i]].n);
	}
	if (r->silent_other > 0)
		fprintf(f, ", other servers x%llu", (unsigned long long)r->silent_other);
	fputc('\n', f);
}

/*
 * A file with TCP traffic but none on the kept ports: say so, and where the
 * traffic was, with the option that would keep it.
 */
static void
print_other_ports(FILE *f, struct cap *cap, const char *ports_text,
    const struct cap_stats *st)
{
	uint16_t ports[5];
	uint64_t counts[5];
	size_t i, n;

	if (st->tcp_packets > 0 || st->other_tcp_packets == 0)
		return;
	n = cap_other_ports(cap, ports, counts, 5);
	fprintf(f, "  no TCP traffic on the selected ports (%s); %llu TCP packets "
	    "on other ports", ports_text, (unsigned long long)st->other_tcp_packets);
	for (i = 0; i < n; i++)
		fprintf(f, "%s%u (%llu)", i == 0 ? ", the busiest: " : ", ", ports[i],
		    (unsigned long long)counts[i]);
	fprintf(f, "\n  try -P %u, or -P all for every TCP port\n", n > 0 ? ports[0] : 25);
}

void
summary_print(FILE *f, const struct summary *r, struct cap *cap,
    const char *ports_text, uint64_t sessions_open, bool final)
{
	struct cap_stats st;
	enum inc_type types[INC_MAX];
	char b1[16], t1[EXPORT_TS_SIZE], t2[EXPORT_TS_SIZE], zone[64];
	size_t i, n;
	int k;

	cap_stats(cap, &st);
	cli_fmt_bytes(b1, sizeof(b1), st.bytes);
	fprintf(f, "%s%llu packets (%s), %llu SMTP packets, %llu flows\n",
	    final ? "\nsummary: " : "stats: ",
	    (unsigned long long)st.packets, b1,
	    (unsigned long long)st.tcp_packets, (unsigned long long)st.flows);
	if (st.first_ts_us > 0) {
		fprintf(f, "  time: %s to %s, local time %s\n",
		    export_fmt_time(t1, sizeof(t1), st.first_ts_us, TS_LOCAL_MILLI),
		    export_fmt_time(t2, sizeof(t2), st.last_ts_us, TS_LOCAL_MILLI),
		    export_fmt_zone(zone, sizeof(zone), st.first_ts_us));
	}
	print_other_ports(f, cap, ports_text, &st);
	if (st.have_kernel)
		fprintf(f, "  kernel: %llu received, %llu dropped, %llu dropped by the interface\n",
		    (unsigned long long)st.kernel_recv, (unsigned long long)st.kernel_drop,
		    (unsigned long long)st.ifdrop);
	fprintf(f, "  sessions: %llu finished, %llu open; incidents: %llu\n",
	    (unsigned long long)r->sessions, (unsigned long long)sessions_open,
	    (unsigned long long)r->by_type.total);
	/* Incident types by count, most first (then by name). */
	n = inc_tally_sorted(&r->by_type, TALLY_BY_COUNT, types);
	for (i = 0; i < n; i++)
		fprintf(f, "    %-28s %llu\n", inc_type_name(types[i]),
		    (unsigned long long)r->by_type.n[types[i]]);
	print_silent(f, r);
	for (k = 0; k < CAP_AN_MAX; k++)
		if (st.anomalies[k] > 0)
			fprintf(f, "  anomaly %-24s %llu  (%s)\n", cap_anomaly_name(k),
			    (unsigned long long)st.anomalies[k], cap_anomaly_desc(k));
	for (k = 0; k < SAN_MAX; k++)
		if (r->san[k] > 0)
			fprintf(f, "  smtp anomaly %-19s %llu  (%s)\n", smtp_anomaly_name(k),
			    (unsigned long long)r->san[k], smtp_anomaly_desc(k));
	/* The limits that were hit, each with the option that sets it. */
	if (st.anomalies[CAP_AN_FLOW_LIMIT] > 0)
		fprintf(f, "  limit hit: flow table full %llu times (--max-flows)\n",
		    (unsigned long long)st.anomalies[CAP_AN_FLOW_LIMIT]);
	if (st.anomalies[CAP_AN_TCP_OOO_LIMIT] > 0)
		fprintf(f, "  limit hit: out-of-order buffer full %llu times "
		    "(--max-ooo, --max-ooo-total)\n",
		    (unsigned long long)st.anomalies[CAP_AN_TCP_OOO_LIMIT]);
	if (st.anomalies[CAP_AN_FRAG_LIMIT] > 0)
		fprintf(f, "  limit hit: IP fragment memory full %llu times\n",
		    (unsigned long long)st.anomalies[CAP_AN_FRAG_LIMIT]);
	if (r->san[SAN_LINE_CAP] > 0)
		fprintf(f, "  limit hit: %llu lines cut (--max-line)\n",
		    (unsigned long long)r->san[SAN_LINE_CAP]);
	if (r->cut_lines > 0)
		fprintf(f, "  limit hit: %llu transcript lines not kept (--max-transcript)\n",
		    (unsigned long long)r->cut_lines);
	if (r->cut_caps + r->cut_tx + r->cut_rcpts > 0)
		fprintf(f, "  limit hit: not kept per session: %llu capabilities, "
		    "%llu transactions, %llu recipients\n",
		    (unsigned long long)r->cut_caps, (unsigned long long)r->cut_tx,
		    (unsigned long long)r->cut_rcpts);
	if (r->keylog) {
		fprintf(f, "  TLS: %llu sessions, %llu decrypted, %llu without a key, "
		    "%llu failed, %llu with a suite not decrypted; %llu records "
		    "failed authentication\n", (unsigned long long)r->tls,
		    (unsigned long long)r->tls_dec[TD_DECRYPTED],
		    (unsigned long long)r->tls_dec[TD_NO_KEY],
		    (unsigned long long)r->tls_dec[TD_FAILED],
		    (unsigned long long)r->tls_dec[TD_UNSUPPORTED],
		    (unsigned long long)r->tls_bad_records);
		fprintf(f, "  key log: %llu secrets for %llu sessions, %llu lines "
		    "malformed, %llu forgotten (cap %u)\n",
		    (unsigned long long)r->kl.secrets, (unsigned long long)r->kl.randoms,
		    (unsigned long long)r->kl.bad, (unsigned long long)r->kl.forgotten,
		    KEYLOG_MAX_ENTRIES);
	} else if (r->tls > 0)
		fprintf(f, "  TLS: %llu sessions, not decrypted (no --tls-keylog)\n",
		    (unsigned long long)r->tls);
	if (st.iface_lost > 0)
		fprintf(f, "  interface: went away %llu time%s, opened again %llu; %s%s\n",
		    (unsigned long long)st.iface_lost, st.iface_lost == 1 ? "" : "s",
		    (unsigned long long)st.iface_back, cap_lost(cap) != NULL ?
		    "away now: " : "capturing", cap_lost(cap) != NULL ? cap_lost(cap) : "");
	if (st.smtps_packets > 0) {
		cli_fmt_bytes(b1, sizeof(b1), st.smtps_bytes);
		fprintf(f, "  port 465 (implicit TLS, not decoded): %llu connections, "
		    "%llu packets, %s of payload\n",
		    (unsigned long long)st.smtps_connections,
		    (unsigned long long)st.smtps_packets, b1);
	}
	if (st.evidence_flows > 0 || st.evidence_cut > 0 || st.evidence_evicted > 0)
		fprintf(f, "  evidence: %llu flagged sessions, %llu packets kept, "
		    "%llu not kept (a cap was hit), %llu evicted\n",
		    (unsigned long long)st.evidence_flows,
		    (unsigned long long)st.evidence_packets,
		    (unsigned long long)st.evidence_cut,
		    (unsigned long long)st.evidence_evicted);
	fflush(f);
}

/* "[=====>     ]  45%  12.3 MB/27.0 MB  8.1 MB/s  0:02 left" on stderr. */
void
summary_progress(struct cap *cap, uint64_t now_us, uint64_t start_us, bool done)
{
	struct cap_stats st;
	char a[16], b[16], c[16];
	double frac, rate, left;
	int i, fill;

	cap_stats(cap, &st);
	if (st.file_bytes_total == 0)
		return;
	frac = (double)st.file_bytes_read / (double)st.file_bytes_total;
	if (frac > 1)
		frac = 1;
	rate = now_us > start_us ? st.file_bytes_read / ((now_us - start_us) / 1e6) : 0;
	left = rate > 0 ? (st.file_bytes_total - st.file_bytes_read) / rate : 0;
	cli_fmt_bytes(a, sizeof(a), st.file_bytes_read);
	cli_fmt_bytes(b, sizeof(b), st.file_bytes_total);
	cli_fmt_bytes(c, sizeof(c), (uint64_t)rate);
	fill = (int)(frac * 30);
	fputs("\r[", stderr);
	for (i = 0; i < 30; i++)
		fputc(i < fill ? '=' : (i == fill ? '>' : ' '), stderr);
	fprintf(stderr, "] %3d%% %s/%s %s/s %d:%02d left ", (int)(frac * 100), a, b, c,
	    (int)left / 60, (int)left % 60);
	if (done)
		fputs("\r\033[K", stderr);
	fflush(stderr);
}
