using System.Net;
using System.Net.Security;
using SecureMx.Config;
using SecureMx.Dovecot;
using SecureMx.Hosting;
using SecureMx.Mail;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dovecot;

/// <summary>
/// The Dovecot configuration generated for an instance, read back section by section: always
/// encrypted with the strict profile's suites, only the listeners asked for, LMTP only for the
/// instance's user, the store as passdb and userdb, and the login throttle of SecureMx as the only one.
/// (The real doveconf reads the same files in the integration tests.)
/// </summary>
public sealed class DovecotConfigurationTests
{
    private const string Dir = "/srv/securemx";
    private const string Key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private static readonly MailOwner Owner = new(995, 994, "securemx", "securemx-group");

    private static IPEndPoint Ep(string text) => Endpoint.Parse(text, "test")!;

    private static DovecotInstance Instance(string dir = Dir) => new(
        dir, "mx.example.test", dir + "/tls/cert.pem", dir + "/tls/key.pem",
        Imap: Ep("0.0.0.0:143"), Imaps: Ep("0.0.0.0:993"), Pop3: Ep("0.0.0.0:110"), Pop3s: Ep("0.0.0.0:995"),
        Lmtp: LmtpTarget.Parse("unix:" + dir + "/dovecot/lmtp")!, Owner, Ep("127.0.0.1:2524"), Key, TimeSpan.FromSeconds(2));

    private static DovecotConfigTree MainFile(DovecotInstance i) => DovecotConfigTree.Parse(DovecotConfiguration.MainFile(i));

    private static DovecotConfigTree Sql(DovecotInstance i) => DovecotConfigTree.Parse(DovecotConfiguration.SqlFile(i));

    [Fact]
    public void EveryConnectionIsEncryptedAndNoLoginCrossesTheNetworkInClearText()
    {
        var c = MainFile(Instance());
        Assert.Equal("required", c.Setting("ssl"));
        Assert.Equal("yes", c.Setting("disable_plaintext_auth"));
        Assert.Equal("TLSv1.2", c.Setting("ssl_min_protocol"));
        Assert.Equal("yes", c.Setting("ssl_prefer_server_ciphers"));
        Assert.Equal("</srv/securemx/tls/cert.pem", c.Setting("ssl_cert"));
        Assert.Equal("</srv/securemx/tls/key.pem", c.Setting("ssl_key"));
        Assert.Equal("yes", c.Setting("service imap-login", "inet_listener imaps", "ssl"));
        Assert.Equal("yes", c.Setting("service pop3-login", "inet_listener pop3s", "ssl"));
    }

    // OpenSSL's names of the IANA suites (openssl ciphers -stdname); TLS 1.3 suites keep their IANA names.
    private static readonly Dictionary<TlsCipherSuite, string> OpenSslNames = new()
    {
        [TlsCipherSuite.TLS_AES_256_GCM_SHA384] = "TLS_AES_256_GCM_SHA384",
        [TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256] = "TLS_CHACHA20_POLY1305_SHA256",
        [TlsCipherSuite.TLS_AES_128_GCM_SHA256] = "TLS_AES_128_GCM_SHA256",
        [TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384] = "ECDHE-ECDSA-AES256-GCM-SHA384",
        [TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384] = "ECDHE-RSA-AES256-GCM-SHA384",
        [TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256] = "ECDHE-ECDSA-CHACHA20-POLY1305",
        [TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256] = "ECDHE-RSA-CHACHA20-POLY1305",
        [TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256] = "ECDHE-ECDSA-AES128-GCM-SHA256",
        [TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256] = "ECDHE-RSA-AES128-GCM-SHA256",
    };

    private static readonly TlsCipherSuite[] Tls13 =
        [TlsCipherSuite.TLS_AES_256_GCM_SHA384, TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256, TlsCipherSuite.TLS_AES_128_GCM_SHA256];

    [Fact]
    public void TheCiphersAreExactlyTheStrictProfilesSuitesInOpenSslsNamesAndOrder()
    {
        // A suite added to the strict profile must get its OpenSSL name here, checked by a person.
        Assert.All(TlsGrading.StrictSuites, s => Assert.True(OpenSslNames.ContainsKey(s), $"no OpenSSL name for {s} in this test"));
        var c = MainFile(Instance());
        Assert.Equal(
            TlsGrading.StrictSuites.Where(s => !Tls13.Contains(s)).Select(s => OpenSslNames[s]),
            c.Setting("ssl_cipher_list").Split(':'));
        Assert.Equal(
            TlsGrading.StrictSuites.Where(Tls13.Contains).Select(s => OpenSslNames[s]),
            c.Setting("ssl_cipher_suites").Split(':'));
        Assert.Contains("ECDHE-RSA-AES128-GCM-SHA256", c.Setting("ssl_cipher_list").Split(':'));
        Assert.Contains("ECDHE-ECDSA-CHACHA20-POLY1305", c.Setting("ssl_cipher_list").Split(':'));
    }

    [Fact]
    public void EachListenerNamesTheAddressAndPortItWasGiven()
    {
        var c = MainFile(Instance() with { Imap = Ep("192.0.2.7:1143"), Imaps = Ep("192.0.2.7:1993"), Pop3 = Ep("127.0.0.1:1110"), Pop3s = Ep("0.0.0.0:1995") });
        Assert.Equal(("192.0.2.7", "1143"), Listener(c, "imap-login", "imap"));
        Assert.Equal(("192.0.2.7", "1993"), Listener(c, "imap-login", "imaps"));
        Assert.Equal(("127.0.0.1", "1110"), Listener(c, "pop3-login", "pop3"));
        Assert.Equal(("0.0.0.0", "1995"), Listener(c, "pop3-login", "pop3s"));
    }

    [Fact]
    public void AListenerNotOfferedHasPort0SoDovecotDoesNotOpenItsDefault()
    {
        var c = MainFile(Instance() with { Imap = null, Pop3 = null, Pop3s = null });
        Assert.Equal(("", "0"), Listener(c, "imap-login", "imap"));
        Assert.Equal(("0.0.0.0", "993"), Listener(c, "imap-login", "imaps"));
        Assert.Equal(("", "0"), Listener(c, "pop3-login", "pop3"));
        Assert.Equal(("", "0"), Listener(c, "pop3-login", "pop3s"));
    }

    [Fact]
    public void IPv6AddressesAreWrittenInBrackets()
    {
        var c = MainFile(Instance() with { Imap = Ep("[::]:143"), Imaps = Ep("[::1]:993"), Lmtp = LmtpTarget.Parse("[::1]:24")!, PolicyEndpoint = Ep("[::1]:2524") });
        Assert.Equal(("[::]", "143"), Listener(c, "imap-login", "imap"));
        Assert.Equal(("[::1]", "993"), Listener(c, "imap-login", "imaps"));
        Assert.Equal(("[::1]", "24"), Listener(c, "lmtp", "lmtp"));
        Assert.Equal("http://[::1]:2524" + DovecotPolicyServer.Route, c.Setting("auth_policy_server_url"));
    }

    [Theory]
    [InlineData(true, true, true, true, "imap pop3 lmtp")]
    [InlineData(false, true, false, false, "imap lmtp")]
    [InlineData(true, false, false, false, "imap lmtp")]
    [InlineData(false, false, false, true, "pop3 lmtp")]
    [InlineData(false, false, true, false, "pop3 lmtp")]
    [InlineData(false, false, false, false, "lmtp")]
    public void OnlyTheProtocolsOfOfferedListenersAreEnabledAndLmtpAlways(bool imap, bool imaps, bool pop3, bool pop3s, string protocols)
    {
        var c = MainFile(Instance() with
        {
            Imap = imap ? Ep("0.0.0.0:143") : null, Imaps = imaps ? Ep("0.0.0.0:993") : null,
            Pop3 = pop3 ? Ep("0.0.0.0:110") : null, Pop3s = pop3s ? Ep("0.0.0.0:995") : null,
        });
        Assert.Equal(protocols, c.Setting("protocols"));
    }

    [Fact]
    public void TheLmtpSocketIsWritableOnlyByTheInstancesUser()
    {
        var lmtp = MainFile(Instance()).Section("service lmtp");
        var socket = lmtp.Section("unix_listener \"/srv/securemx/dovecot/lmtp\"");
        Assert.Equal("0600", socket.Setting("mode"));
        Assert.Equal("securemx", socket.Setting("user"));
        Assert.Equal("securemx-group", socket.Setting("group"));
        Assert.False(lmtp.HasSection("inet_listener lmtp"));
    }

    [Fact]
    public void LmtpOverTcpListensOnTheGivenAddressAndPort()
    {
        var lmtp = MainFile(Instance() with { Lmtp = LmtpTarget.Parse("127.0.0.1:2424")! }).Section("service lmtp");
        Assert.Equal("127.0.0.1", lmtp.Setting("inet_listener lmtp", "address"));
        Assert.Equal("2424", lmtp.Setting("inet_listener lmtp", "port"));
        Assert.DoesNotContain(lmtp.SectionNames, n => n.StartsWith("unix_listener \"", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("unix:/srv/securemx/dovecot/lmtp")]
    [InlineData("unix:/run/securemx-lmtp")]
    [InlineData("127.0.0.1:2424")]
    public void DovecotsOwnWorldWritableLmtpSocketInTheBaseDirectoryIsClosed(string lmtp)
    {
        var service = MainFile(Instance() with { Lmtp = LmtpTarget.Parse(lmtp)! }).Section("service lmtp");
        Assert.Equal("0", service.Setting("unix_listener lmtp", "mode"));
    }

    [Fact]
    public void AnLmtpSocketConfiguredWhereDovecotsOwnWouldBeIsTheOnlyOneThere()
    {
        var service = MainFile(Instance() with { Lmtp = LmtpTarget.Parse("unix:/srv/securemx/dovecot/run/lmtp")! }).Section("service lmtp");
        Assert.Equal(["unix_listener \"/srv/securemx/dovecot/run/lmtp\""], service.SectionNames);
        Assert.Equal("0600", service.Setting("unix_listener \"/srv/securemx/dovecot/run/lmtp\"", "mode"));
    }

    [Fact]
    public void TheLmtpSocketsPathIsQuotedSoASpaceOrQuoteInItKeepsItOneName()
    {
        var lmtp = MainFile(Instance("/srv/mail \"x\" \\y")).Section("service lmtp");
        Assert.Equal(["unix_listener \"/srv/mail \\\"x\\\" \\\\y/dovecot/lmtp\"", "unix_listener lmtp"], lmtp.SectionNames);
    }

    [Fact]
    public void PasswordsAreCheckedAgainstTheStoreAtEveryLoginWithoutACache()
    {
        var c = MainFile(Instance());
        Assert.Equal("0", c.Setting("auth_cache_size"));
        Assert.Equal("sql", c.Setting("passdb", "driver"));
        Assert.Equal("/srv/securemx/dovecot/securemx-sql.conf.ext", c.Setting("passdb", "args"));
        Assert.Equal("sql", c.Setting("userdb", "driver"));
        Assert.Equal("/srv/securemx/dovecot/securemx-sql.conf.ext", c.Setting("userdb", "args"));
        Assert.Equal("no", c.Setting("auth_verbose_passwords"));
        Assert.Equal("no", c.Setting("auth_debug_passwords"));
    }

    [Fact]
    public void EveryLoginAsksTheSecureMxPolicyEndpointWithItsKeyAndReportsItsOutcome()
    {
        var c = MainFile(Instance());
        Assert.Equal("http://127.0.0.1:2524" + DovecotPolicyServer.Route, c.Setting("auth_policy_server_url"));
        Assert.Equal("/dovecot/auth-policy", DovecotPolicyServer.Route);
        Assert.Equal("X-API-Key:" + Key, c.Setting("auth_policy_server_api_header"));
        Assert.Equal(Key, c.Setting("auth_policy_hash_nonce"));
        Assert.Equal("yes", c.Setting("auth_policy_check_before_auth"));
        Assert.Equal("yes", c.Setting("auth_policy_report_after_auth"));
        // SecureMx down: logins proceed (reading mail must not depend on the MTA).
        Assert.Equal("no", c.Setting("auth_policy_reject_on_fail"));
        // Exactly the fields DovecotAuthPolicy reads.
        var fields = c.Setting("auth_policy_request_attributes").Split(' ').Select(a => a.Split('=')[0]);
        Assert.Equal(["login", "protocol", "pwhash", "remote", "session"], fields.Order());
    }

    [Fact]
    public void DovecotsOwnPenaltyIsOffSoTheLoginThrottleOfSecureMxIsTheOnlyOne()
    {
        var c = MainFile(Instance());
        Assert.Equal("0", c.Setting("service anvil", "unix_listener anvil-auth-penalty", "mode"));
    }

    [Theory]
    [InlineData(2000, "2 secs")]
    [InlineData(200, "1 secs")]
    [InlineData(0, "0 secs")]
    public void TheFailureDelayIsAuthFailureDelayInWholeSecondsRoundedUp(int milliseconds, string expected)
    {
        Assert.Equal(expected, MainFile(Instance() with { FailureDelay = TimeSpan.FromMilliseconds(milliseconds) }).Setting("auth_failure_delay"));
    }

    [Fact]
    public void MailIsReadAndWrittenOnlyAsTheInstancesUser()
    {
        var c = MainFile(Instance());
        Assert.Equal("maildir:~", c.Setting("mail_location"));
        Assert.Equal(("995", "995"), (c.Setting("first_valid_uid"), c.Setting("last_valid_uid")));
        Assert.Equal(("994", "994"), (c.Setting("first_valid_gid"), c.Setting("last_valid_gid")));
        Assert.Equal("securemx", c.Setting("service auth-worker", "user"));
    }

    [Fact]
    public void BaseDirectoryStateAndLogAreTheInstancesOwnSoItRunsBesideASystemDovecot()
    {
        var c = MainFile(Instance());
        Assert.Equal("/srv/securemx/dovecot/run", c.Setting("base_dir"));
        Assert.Equal("/srv/securemx/dovecot/state", c.Setting("state_dir"));
        Assert.Equal("/srv/securemx/dovecot/dovecot.log", c.Setting("log_path"));
        Assert.Matches("^securemx-[0-9a-f]{8}$", c.Setting("instance_name"));
        Assert.Equal(c.Setting("instance_name"), MainFile(Instance()).Setting("instance_name"));
        Assert.NotEqual(c.Setting("instance_name"), MainFile(Instance("/srv/other")).Setting("instance_name"));
        Assert.Equal("postmaster@mx.example.test", c.Setting("protocol lmtp", "postmaster_address"));
    }

    [Fact]
    public void TheSqlFileReadsTheStoresViewWithTheMaildirUnderTheDataDirectory()
    {
        var s = Sql(Instance());
        Assert.Equal("sqlite", s.Setting("driver"));
        Assert.Equal("/srv/securemx/securemx.db", s.Setting("connect"));
        Assert.Equal("SELECT user, password FROM dovecot_accounts WHERE user = '%u' AND password IS NOT NULL", s.Setting("password_query"));
        Assert.Equal("SELECT '/srv/securemx/' || maildir AS home, 995 AS uid, 994 AS gid FROM dovecot_accounts WHERE user = '%u'", s.Setting("user_query"));
        Assert.Equal("SELECT user FROM dovecot_accounts", s.Setting("iterate_query"));
    }

    [Fact]
    public void AQuoteInTheDataDirectoryIsDoubledInTheSqlLiteral()
    {
        var s = Sql(Instance("/srv/o'brien"));
        Assert.StartsWith("SELECT '/srv/o''brien/' || maildir AS home,", s.Setting("user_query"));
    }

    [Fact]
    public void APercentSignInTheDataDirectoryIsNotTakenForADovecotVariable()
    {
        // Dovecot expands %u, %d, ... in the queries; %% is a literal %.
        var s = Sql(Instance("/srv/100%disk"));
        Assert.StartsWith("SELECT '/srv/100%%disk/' || maildir AS home,", s.Setting("user_query"));
    }

    private static (string Address, string Port) Listener(DovecotConfigTree c, string service, string name)
    {
        var listener = c.Section(service == "lmtp" ? "service lmtp" : $"service {service}").Section($"inet_listener {name}");
        return (listener.Setting("address"), listener.Setting("port"));
    }
}
