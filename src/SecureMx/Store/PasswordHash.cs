using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace SecureMx.Store;

/// <summary>The outcome of checking a password against a stored hash.</summary>
public enum PasswordCheck { Wrong, Correct, CorrectButOutdated }

/// <summary>
/// Mailbox password hashes through ASP.NET Core Identity's <see cref="PasswordHasher{TUser}"/>:
/// PBKDF2-HMAC-SHA512 with a 128-bit salt, at the 210 000 iterations OWASP recommends for that
/// hash (Identity's default is 100 000). Hashes of an earlier format or iteration count still
/// verify and are reported as outdated, so a successful login can store a current one.
/// </summary>
public static class PasswordHash
{
    public const int Iterations = 210_000;

    private sealed class Account;
    private static readonly Account Nobody = new();

    private static readonly PasswordHasher<Account> Hasher =
        new(Options.Create(new PasswordHasherOptions { CompatibilityMode = PasswordHasherCompatibilityMode.IdentityV3, IterationCount = Iterations }));

    public static string Create(string password) => Hasher.HashPassword(Nobody, password);

    public static PasswordCheck Check(string password, string stored)
    {
        if (stored.StartsWith(LegacyPrefix, StringComparison.Ordinal))
        {
            return VerifyLegacy(password, stored) ? PasswordCheck.CorrectButOutdated : PasswordCheck.Wrong;
        }
        try
        {
            return Hasher.VerifyHashedPassword(Nobody, stored, password) switch
            {
                PasswordVerificationResult.Success => PasswordCheck.Correct,
                PasswordVerificationResult.SuccessRehashNeeded => PasswordCheck.CorrectButOutdated,
                _ => PasswordCheck.Wrong,
            };
        }
        catch (FormatException)
        {
            return PasswordCheck.Wrong; // not a hash at all: nothing can match it
        }
    }

    public static bool Verify(string password, string stored) => Check(password, stored) != PasswordCheck.Wrong;

    // The first releases stored PBKDF2-HMAC-SHA256 as pbkdf2-sha256$iterations$salt$hash (base64).
    private const string LegacyPrefix = "pbkdf2-sha256$";

    private static bool VerifyLegacy(string password, string stored)
    {
        var parts = stored.Split('$');
        if (parts.Length != 4 || !int.TryParse(parts[1], out var iterations) || iterations < 1) return false;
        try
        {
            var salt = Convert.FromBase64String(parts[2]);
            var expected = Convert.FromBase64String(parts[3]);
            var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
            return CryptographicOperations.FixedTimeEquals(actual, expected);
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
