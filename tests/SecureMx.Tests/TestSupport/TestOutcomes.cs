using System.Net;
using SecureMx.Mail;

namespace SecureMx.Tests.TestSupport;

/// <summary>Delivery outcomes as the queue runner writes them, for tests that put recipients into a given state.</summary>
internal static class TestOutcomes
{
    /// <summary>No MX host took the transaction (4.4.1).</summary>
    public static DeliveryOutcome Deferred(string text = "4.4.1 mx.dest.test[192.0.2.1]: connection refused") =>
        new(RecipientState.Deferred, OutcomeReason.Connection, EnhancedStatus.NoAnswerFromHost, text, 451);

    /// <summary>The recipient domain's DNS failed temporarily (4.4.3).</summary>
    public static DeliveryOutcome DnsDeferred(string text = "4.4.3 SERVFAIL for dest.test") =>
        new(RecipientState.Deferred, OutcomeReason.Dns, EnhancedStatus.DirectoryServerFailure, text, 451);

    /// <summary>Waiting for a server that offers TLS, as the sender's mandatory TLS demands (4.7.4).</summary>
    public static DeliveryOutcome TlsWait(string text = "4.7.4 TLS is required, but was not offered by host mx.dest.test[192.0.2.1] (TLS level encrypt (from sender account alice@example.org))") =>
        new(RecipientState.Deferred, OutcomeReason.TlsRequirement, EnhancedStatus.SecurityNotSupported, text, 451,
            new RequiredTls(OutboundTlsLevel.Encrypt, TlsRequirementSource.Sender), "mx.dest.test", IPAddress.Parse("192.0.2.1"));

    /// <summary>The server took the message.</summary>
    public static DeliveryOutcome Delivered() =>
        new(RecipientState.Delivered, OutcomeReason.RemoteReply, EnhancedStatus.Ok, "2.0.0 mx.dest.test[192.0.2.1] said: 250 2.0.0 Ok", 250, null, "mx.dest.test", IPAddress.Parse("192.0.2.1"));

    /// <summary>The server refused the recipient for good.</summary>
    public static DeliveryOutcome Failed(string text = "5.1.1 mx.dest.test[192.0.2.1] said: 550 5.1.1 no such user") =>
        new(RecipientState.Failed, OutcomeReason.RemoteReply, EnhancedStatus.BadDestinationMailbox, text, 550, null, "mx.dest.test", IPAddress.Parse("192.0.2.1"));
}
