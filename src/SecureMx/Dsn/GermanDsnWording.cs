using System.Globalization;
using SecureMx.Mail;

namespace SecureMx.Dsn;

/// <summary>
/// The DSN in German, as German-speaking users know it from their mail systems: the subject names
/// the outcome before the original subject ("Unzustellbar: …", "Zustellung verzögert: …"), the reason
/// is a German sentence from the status code (and the cause, where SecureMx knows it), the remote
/// server's reply and SecureMx's own technical text are quoted as they are. Dates as
/// "03.06.2025 09:05:07 UTC".
/// </summary>
internal sealed class GermanDsnWording : DsnWording
{
    public static readonly GermanDsnWording Instance = new();

    public override string FromName => "E-Mail-Zustellsystem";

    public override string Subject(DsnAction worst, string? originalSubject) => worst switch
    {
        DsnAction.Failed => "Unzustellbar: ",
        DsnAction.Delayed => "Zustellung verzögert: ",
        _ => "Zugestellt: ",
    } + (string.IsNullOrWhiteSpace(originalSubject) ? "Ihre Nachricht" : originalSubject);

    public override string Greeting(string host) => $"Dies ist eine automatische Nachricht des Mailservers {host}.";

    public override string Intro(DsnAction action) => action switch
    {
        DsnAction.Failed => "Ihre Nachricht konnte den folgenden Empfängern nicht zugestellt werden. Es werden keine weiteren " +
            "Zustellversuche unternommen.",
        DsnAction.Delayed => "Ihre Nachricht konnte den folgenden Empfängern noch nicht zugestellt werden. SecureMx versucht es " +
            "weiter; Sie müssen nichts unternehmen.",
        DsnAction.Delivered => "Ihre Nachricht wurde den folgenden Empfängern zugestellt.",
        DsnAction.Relayed => "Ihre Nachricht wurde an die folgenden Empfänger über ein System weitergegeben, das keine " +
            "Zustellbenachrichtigungen versendet; weitere Nachrichten über diese Empfänger folgen daher nicht.",
        DsnAction.Expanded => "Ihre Nachricht wurde an die folgenden Adressen zugestellt, die sie an weitere Empfänger verteilen " +
            "(ein Alias oder eine Verteilerliste); weitere Nachrichten über diese Empfänger folgen nicht.",
        _ => throw new ArgumentOutOfRangeException(nameof(action)),
    };

    public override string? Advice(DsnAction action, bool onlyTls) => action switch
    {
        DsnAction.Failed when !onlyTls =>
            "Was Sie tun können: Prüfen Sie jede Adresse auf Tippfehler und senden Sie die Nachricht erneut. Ist eine " +
            "Adresse richtig, liegt das Problem beim empfangenden System: Erreichen Sie den Empfänger auf anderem Weg " +
            "(andere Adresse, Telefon) und nennen Sie ihm den oben angegebenen Grund.",
        DsnAction.Delayed => "Gelingt die Zustellung bis dahin nicht, erhalten Sie eine abschließende Benachrichtigung.",
        _ => null,
    };

    public override string Reason(DsnRecipientReport report) =>
        $"Grund: {Explanation(report.Status, report.Cause)} (Status {report.Status}).";

    /// <summary>
    /// SecureMx's own text about the outcome (in English, as the operator's logs have it) when no server
    /// reply is quoted: it names the host and what it lacked, which the German sentence cannot.
    /// </summary>
    public override string? Detail(DsnRecipientReport report) =>
        string.IsNullOrWhiteSpace(report.DiagnosticCode) && report.Explanation is { } e && !string.IsNullOrWhiteSpace(e)
            ? "Technische Angabe: " + DeliveryStatusNotification.Clean(e)
            : null;

    public override string ServerAnswered(string? remoteMta, string diagnostic) =>
        (remoteMta is null ? "Der empfangende Server antwortete: " : $"Der Server {remoteMta} antwortete: ") + diagnostic;

    public override string Details(string diagnostic) => "Einzelheiten: " + diagnostic;

    public override string ReceivingServer(string remoteMta) => "Empfangender Server: " + remoteMta;

    public override string LastAttempt(DateTimeOffset at) => "Letzter Versuch: " + Date(at);

    public override string KeepsTrying(DateTimeOffset? until) => until is { } u
        ? $"SecureMx versucht es weiter bis {Date(u)}; Sie müssen nichts unternehmen."
        : "SecureMx versucht es weiter; Sie müssen nichts unternehmen.";

    public override string TlsExplained =>
        "Zur Verschlüsselung (TLS): Diese Nachricht darf nur verschlüsselt übergeben werden, mit TLS 1.2 oder neuer " +
        "und sicheren Verschlüsselungsverfahren – weil für Ihr Konto oder Ihre Domain die TLS-Pflicht eingeschaltet " +
        "ist – oder, wo die Domain des Empfängers DANE-Einträge (TLSA) oder eine MTA-STS-Richtlinie veröffentlicht, nur an einen Server, der sich " +
        "damit ausweist. Die oben genannten empfangenden Server haben das nicht geboten. Deshalb hat SecureMx die " +
        "Nachricht nicht gesendet; eine solche Nachricht sendet SecureMx niemals unverschlüsselt.";

    public override string TlsAdvice =>
        "Was Sie tun können: Darf diese Nachricht ohne diesen Schutz übertragen werden, schalten Sie die TLS-Pflicht " +
        "für Ihr Konto oder Ihre Domain aus (im Dashboard oder über Ihren Mailadministrator) und senden Sie die " +
        "Nachricht erneut. Oder erreichen Sie den Empfänger auf anderem Weg und teilen Sie ihm mit, dass sein " +
        "Mailserver kein sicheres TLS anbietet. Das Ausschalten hilft nur, wenn für Sie die TLS-Pflicht eingeschaltet " +
        "ist: Eine fehlgeschlagene DANE-Prüfung (TLSA), ein Fehler beim Abrufen der TLSA-Einträge oder ein Server, der " +
        "die MTA-STS-Richtlinie der Domain des Empfängers nicht erfüllt, lässt sich nur von den Mailadministratoren des " +
        "Empfängers beheben.";

    public override string Attached(DeliveryStatusNotification.Returned returned) =>
        "Im Anhang finden Sie denselben Bericht in maschinenlesbarer Form (RFC 3464)" + returned switch
        {
            DeliveryStatusNotification.Returned.Full => " und Ihre Nachricht",
            DeliveryStatusNotification.Returned.Headers => " und die Kopfzeilen Ihrer Nachricht",
            _ => "",
        } + ".";

    public override string Received(DateTimeOffset arrival, string queueId, string host) =>
        $"Ihre Nachricht ist am {Date(arrival)} mit der Queue-ID {queueId} eingegangen. Bitte geben Sie diese ID an, " +
        $"wenn Sie sich an den Postmaster von {host} wenden.";

    /// <summary>Day, month, year and the time in UTC, as German readers write them.</summary>
    internal static string Date(DateTimeOffset at) =>
        at.ToUniversalTime().ToString("dd.MM.yyyy HH:mm:ss", CultureInfo.InvariantCulture) + " UTC";

    /// <summary>A German sentence for the outcome: from the cause where it is ours to tell, else from the status code (RFC 3463).</summary>
    internal static string Explanation(EnhancedStatus status, OutcomeReason? cause) => cause switch
    {
        OutcomeReason.Administrator => "Der Mailadministrator hat die Nachricht an Sie zurückgeschickt",
        _ => (status.Subject, status.Detail) switch
        {
            (1, 1) => "Das Postfach des Empfängers existiert nicht",
            (1, 2) => "Die Domain des Empfängers existiert nicht oder nimmt keine E-Mails an",
            (1, 3) => "Die Adresse des Empfängers ist ungültig",
            (1, 10) => "Die Domain des Empfängers nimmt keine E-Mails an (Null-MX)",
            (2, 1) => "Das Postfach des Empfängers ist gesperrt",
            (2, 2) => "Das Postfach des Empfängers ist voll",
            (2, 3) => "Die Nachricht ist größer, als der Empfänger annimmt",
            (3, 4) => "Die Nachricht ist größer, als das empfangende System annimmt",
            (4, 1) => "Der empfangende Server hat nicht geantwortet",
            (4, 2) => "Die Verbindung zum empfangenden Server ist abgebrochen",
            (4, 3) => "Die Domain des Empfängers konnte im DNS nicht nachgeschlagen werden",
            (4, 4) => "Kein Server der Domain des Empfängers war erreichbar",
            (4, 7) => "Die Nachricht konnte nicht rechtzeitig zugestellt werden",
            (7, 4) => "Kein empfangender Server bot die geforderte verschlüsselte Verbindung (TLS) an",
            (7, 5) => "Die verschlüsselte Verbindung kam nicht zustande, oder die Prüfung des Serverzertifikats (DANE, TLSA) schlug fehl",
            (7, 30) => "Die Nachricht verlangt REQUIRETLS (RFC 8689), und kein empfangender Server bot eine geprüfte verschlüsselte Verbindung mit REQUIRETLS an",
            (7, _) => "Das empfangende System hat die Nachricht aus Sicherheits- oder Richtliniengründen abgelehnt",
            _ => status.Class switch
            {
                5 => "Das empfangende System hat die Nachricht endgültig abgelehnt",
                4 => "Ein vorübergehendes Problem hat die Zustellung verhindert",
                _ => "Zugestellt",
            },
        },
    };
}
