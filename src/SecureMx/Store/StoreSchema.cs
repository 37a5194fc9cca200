namespace SecureMx.Store;

/// <summary>
/// The schema of <c>securemx.db</c>, one step per version: step N takes <c>PRAGMA user_version</c>
/// from N to N+1. Steps are only ever appended; an existing store applies the ones it has not seen
/// (<see cref="StoreDatabase.Migrate"/>). SQLite dialect throughout: a second backend brings its own
/// steps (identity columns instead of INTEGER PRIMARY KEY, a version table instead of the pragma).
/// </summary>
internal static class StoreSchema
{
    public static readonly string[] Migrations =
    [
        """
            CREATE TABLE domains(
              name TEXT PRIMARY KEY,
              created_at INTEGER NOT NULL
            );
            CREATE TABLE mailboxes(
              address TEXT PRIMARY KEY,
              domain TEXT NOT NULL REFERENCES domains(name),
              password_hash TEXT NOT NULL,
              maildir TEXT NOT NULL,
              created_at INTEGER NOT NULL
            );
            CREATE TABLE aliases(
              address TEXT NOT NULL,
              domain TEXT NOT NULL REFERENCES domains(name),
              target TEXT NOT NULL,
              created_at INTEGER NOT NULL,
              PRIMARY KEY(address, target)
            );
            CREATE TABLE inbound_sessions(
              id TEXT PRIMARY KEY,
              started_at INTEGER NOT NULL,
              ended_at INTEGER,
              listener TEXT NOT NULL,
              client_ip TEXT NOT NULL,
              helo TEXT,
              tls_protocol TEXT,
              tls_cipher TEXT,
              messages INTEGER NOT NULL DEFAULT 0,
              end_reason TEXT
            );
            CREATE TABLE inbound_recipients(
              session_id TEXT NOT NULL,
              at INTEGER NOT NULL,
              mail_from_domain TEXT,
              recipient_domain TEXT NOT NULL,
              accepted INTEGER NOT NULL,
              reply TEXT NOT NULL,
              tls_protocol TEXT,
              tls_cipher TEXT
            );
            CREATE INDEX inbound_sessions_started ON inbound_sessions(started_at);
            CREATE INDEX inbound_recipients_domain ON inbound_recipients(recipient_domain, at);
            """,
        // One row per delivery attempt and recipient (local and remote), with the TLS it got.
        """
            CREATE TABLE delivery_log(
              id INTEGER PRIMARY KEY,
              at INTEGER NOT NULL,
              message_id TEXT NOT NULL,
              sender TEXT NOT NULL,
              account TEXT,
              recipient TEXT NOT NULL,
              mx_host TEXT,
              ip TEXT,
              result TEXT NOT NULL,
              code INTEGER,
              enhanced TEXT,
              text TEXT,
              tls_protocol TEXT,
              tls_cipher TEXT,
              tls_verification TEXT NOT NULL
            );
            CREATE INDEX delivery_log_at ON delivery_log(at);
            CREATE INDEX delivery_log_recipient ON delivery_log(recipient, at);
            CREATE INDEX delivery_log_sender ON delivery_log(sender, at);
            """,
        // Submission sessions: who logged in, and how many logins failed.
        """
            ALTER TABLE inbound_sessions ADD COLUMN account TEXT;
            ALTER TABLE inbound_sessions ADD COLUMN auth_failures INTEGER NOT NULL DEFAULT 0;
            CREATE INDEX delivery_log_account ON delivery_log(account, at);
            """,
        // Mandatory TLS: inbound per domain, outbound per domain and per mailbox, a destination
        // table, and who changed what when. The settings are stored as the words of
        // InboundTlsSetting, OutboundTlsSetting and OutboundTlsLevel.
        """
            ALTER TABLE domains ADD COLUMN inbound_tls TEXT NOT NULL DEFAULT 'opportunistic';
            ALTER TABLE domains ADD COLUMN outbound_tls TEXT NOT NULL DEFAULT 'default';
            ALTER TABLE mailboxes ADD COLUMN outbound_tls TEXT NOT NULL DEFAULT 'default';
            CREATE TABLE tls_destinations(
              domain TEXT PRIMARY KEY,
              level TEXT NOT NULL,
              updated_at INTEGER NOT NULL
            );
            CREATE TABLE policy_audit(
              id INTEGER PRIMARY KEY,
              at INTEGER NOT NULL,
              actor TEXT NOT NULL,
              subject TEXT NOT NULL,
              setting TEXT NOT NULL,
              old_value TEXT NOT NULL,
              new_value TEXT NOT NULL
            );
            CREATE INDEX policy_audit_subject ON policy_audit(subject, at);
            """,
        // Dashboard roles: system administrators and domain administrators (mailbox addresses).
        """
            CREATE TABLE system_admins(
              address TEXT PRIMARY KEY,
              created_at INTEGER NOT NULL
            );
            CREATE TABLE domain_admins(
              domain TEXT NOT NULL,
              address TEXT NOT NULL,
              created_at INTEGER NOT NULL,
              PRIMARY KEY(domain, address)
            );
            CREATE INDEX domain_admins_address ON domain_admins(address);
            """,
        // What Dovecot's SQL passdb and userdb read (securemx dovecot-config): every mailbox with its
        // Maildir relative to the data directory, and its password hash when Dovecot can verify it
        // (Argon2id; older hashes are NULL here and replaced at the next submission or dashboard
        // login). A view, so the tables behind it may change without touching an installed Dovecot.
        """
            CREATE VIEW dovecot_accounts AS
              SELECT address AS user,
                     CASE WHEN password_hash LIKE '$argon2id$%' THEN '{ARGON2ID}' || password_hash END AS password,
                     maildir
              FROM mailboxes;
            """,
        // The language of the mail SecureMx writes to the account (its DSNs), as MailLanguage's word;
        // 'en' until the account chooses.
        """
            ALTER TABLE mailboxes ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
            """,
        // Dashboard sessions, so that a logout, a password change, a role change or a removed mailbox
        // ends them on the server. id_hash is the SHA-256 of the random id the cookie carries (the
        // store alone cannot be turned into a cookie); times in Unix milliseconds; rows are deleted
        // once past expires_at (the absolute lifetime).
        """
            CREATE TABLE dashboard_sessions(
              id_hash TEXT PRIMARY KEY,
              account TEXT NOT NULL,
              created_at INTEGER NOT NULL,
              last_seen_at INTEGER NOT NULL,
              expires_at INTEGER NOT NULL,
              revoked_at INTEGER,
              revoked_reason TEXT
            );
            CREATE INDEX dashboard_sessions_account ON dashboard_sessions(account);
            CREATE INDEX dashboard_sessions_expires ON dashboard_sessions(expires_at);
            """,
        // A failed STARTTLS before a plaintext delivery attempt (opportunistic levels): why, in words.
        // NULL for every other row, and for the rows written before this step.
        """
            ALTER TABLE delivery_log ADD COLUMN tls_failure TEXT;
            """,
        // Several nodes on one store (docs/ARCHITECTURE.md, "Several nodes"): the node that wrote each
        // log row ('' for rows written before this step); the nodes and the number each puts into its
        // queue ids; each node's published summary of the mail it holds (replaced every few seconds);
        // the login throttle's failures and known-good pairs, shared so that a guesser does not get N
        // times the attempts on N nodes; the dashboard's data-protection keys (XML elements as
        // ASP.NET Core writes them, each already encrypted at rest), so a login on one node is valid
        // on every other.
        """
            ALTER TABLE inbound_sessions ADD COLUMN node TEXT NOT NULL DEFAULT '';
            ALTER TABLE delivery_log ADD COLUMN node TEXT NOT NULL DEFAULT '';
            CREATE TABLE nodes(
              name TEXT PRIMARY KEY,
              number INTEGER NOT NULL UNIQUE,
              started_at INTEGER NOT NULL,
              seen_at INTEGER NOT NULL,
              queued_messages INTEGER NOT NULL DEFAULT 0,
              version TEXT NOT NULL DEFAULT ''
            );
            CREATE TABLE node_queue(
              node TEXT NOT NULL,
              queue_id TEXT NOT NULL,
              recipient_index INTEGER NOT NULL,
              recipient TEXT NOT NULL,
              sender TEXT NOT NULL,
              received_at INTEGER NOT NULL,
              size INTEGER NOT NULL,
              state TEXT NOT NULL,
              attempts INTEGER NOT NULL,
              next_attempt_at INTEGER NOT NULL,
              last_error TEXT,
              PRIMARY KEY(node, queue_id, recipient_index)
            );
            CREATE INDEX node_queue_id ON node_queue(queue_id);
            CREATE TABLE login_failures(
              kind TEXT NOT NULL,
              key TEXT NOT NULL,
              at INTEGER NOT NULL
            );
            CREATE INDEX login_failures_key ON login_failures(kind, key, at);
            CREATE INDEX login_failures_at ON login_failures(at);
            CREATE TABLE login_known_good(
              account TEXT NOT NULL,
              ip_key TEXT NOT NULL,
              at INTEGER NOT NULL,
              PRIMARY KEY(account, ip_key)
            );
            CREATE TABLE dashboard_keys(
              name TEXT PRIMARY KEY,
              xml TEXT NOT NULL,
              created_at INTEGER NOT NULL
            );
            """,
        // The node registration's instance: host name and data directory of the process that holds a
        // node name, so that a node restarted after a crash takes its own name back at once while
        // another instance under the same name is refused while the first is alive (NodeRegistry).
        """
            ALTER TABLE nodes ADD COLUMN instance TEXT NOT NULL DEFAULT '';
            """,
        // MTA-STS (RFC 8461): the recipient domains' policies as fetched, shared by every node of a shared
        // store (MtaSts/); and each hosted domain's own policy mode, served at mta-sts.DOMAIN.
        """
            CREATE TABLE mta_sts_policies(
              domain TEXT PRIMARY KEY,
              policy_id TEXT NOT NULL,
              policy TEXT NOT NULL,
              fetched_at INTEGER NOT NULL,
              expires_at INTEGER NOT NULL,
              checked_at INTEGER NOT NULL,
              last_error TEXT
            );
            ALTER TABLE domains ADD COLUMN mta_sts_mode TEXT NOT NULL DEFAULT 'none';
            """,
        // What a recipient domain's MTA-STS policy said of a delivery attempt (Delivery/Remote/MtaStsFailure):
        // "RESULT-TYPE: DETAIL" with the RFC 8460 result type first, for TLS reporting; NULL otherwise.
        """
            ALTER TABLE delivery_log ADD COLUMN mta_sts_failure TEXT;
            """,
            // Issue 17, reports. The session log keeps what a refused-mail report names (full envelope sender
        // and recipient, why the RCPT was refused, the client's reverse name); domains.refused_digest is
        // the daily digest switch. tls_sessions: outbound sessions counted per day, recipient domain,
        // policy and result (RFC 8460 aggregate; result_type '' = success). report_sends: the claim that
        // makes a daily report go out once per domain and day from one node. tls_reports_received: the
        // reports other organisations sent about the hosted domains, one row per report and policy.
        """
            ALTER TABLE inbound_recipients ADD COLUMN mail_from TEXT;
            ALTER TABLE inbound_recipients ADD COLUMN recipient TEXT;
            ALTER TABLE inbound_recipients ADD COLUMN refusal TEXT;
            ALTER TABLE inbound_sessions ADD COLUMN reverse_name TEXT;
            ALTER TABLE domains ADD COLUMN refused_digest INTEGER NOT NULL DEFAULT 0;
            CREATE TABLE tls_sessions(
              day INTEGER NOT NULL,
              policy_domain TEXT NOT NULL,
              policy_type TEXT NOT NULL,
              policy_string TEXT NOT NULL,
              mx_host TEXT NOT NULL,
              result_type TEXT NOT NULL,
              sending_ip TEXT NOT NULL,
              receiving_mx TEXT NOT NULL,
              receiving_ip TEXT NOT NULL,
              sessions INTEGER NOT NULL,
              detail TEXT,
              PRIMARY KEY(day, policy_domain, policy_type, policy_string, mx_host, result_type, sending_ip, receiving_mx, receiving_ip)
            );
            CREATE TABLE report_sends(
              kind TEXT NOT NULL,
              domain TEXT NOT NULL,
              day INTEGER NOT NULL,
              node TEXT NOT NULL,
              claimed_at INTEGER NOT NULL,
              sent_at INTEGER,
              result TEXT,
              PRIMARY KEY(kind, domain, day)
            );
            CREATE TABLE tls_reports_received(
              id INTEGER PRIMARY KEY,
              received_at INTEGER NOT NULL,
              domain TEXT NOT NULL,
              fingerprint TEXT NOT NULL,
              organization TEXT NOT NULL,
              contact TEXT,
              report_id TEXT NOT NULL,
              start_at INTEGER NOT NULL,
              end_at INTEGER NOT NULL,
              policy_type TEXT NOT NULL,
              policy_string TEXT NOT NULL,
              successful INTEGER NOT NULL,
              failed INTEGER NOT NULL,
              details TEXT NOT NULL,
              source TEXT NOT NULL,
              UNIQUE(domain, fingerprint)
            );
            CREATE INDEX tls_reports_received_domain ON tls_reports_received(domain, end_at);
            """,
        // Issue 19, DKIM signing: the keys of the hosted domains (Dkim/DkimKeyRepository) with their state, and
        // the secret table for their private halves when nodes share the store (Dkim/DkimSealedKeys; a single
        // box keeps them as files under DIR/dkim and leaves it empty).
        """
            CREATE TABLE dkim_keys(
              domain TEXT NOT NULL,
              selector TEXT NOT NULL,
              algorithm TEXT NOT NULL,
              state TEXT NOT NULL,
              created_at INTEGER NOT NULL,
              state_changed_at INTEGER NOT NULL,
              public_key TEXT NOT NULL,
              PRIMARY KEY(domain, selector)
            );
            CREATE TABLE dkim_private_keys(
              domain TEXT NOT NULL,
              selector TEXT NOT NULL,
              sealed TEXT NOT NULL,
              PRIMARY KEY(domain, selector)
            );
            """,
        // DMARC enforcement of a hosted domain (MailAuth/, RFC 7489 §6.7): 'enforce' refuses mail to it that fails
        // DMARC under p=reject with 550 5.7.1; 'off' (the default) only reports it in Authentication-Results.
        """
            ALTER TABLE domains ADD COLUMN dmarc TEXT NOT NULL DEFAULT 'off';
            """,
];
}
