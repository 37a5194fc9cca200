namespace SecureMx.Store;

/// <summary>
/// Writes one row of policy_audit inside the caller's transaction, so that a change and its record
/// are committed together or not at all. Policy settings and roles both use it; the empty string
/// stands for "none" (an entry that did not exist, a role not held).
/// </summary>
internal static class PolicyAuditTrail
{
    public static void Record(StoreConnection c, long at, string actor, string subject, string setting, string oldValue, string newValue) =>
        c.Execute("INSERT INTO policy_audit(at, actor, subject, setting, old_value, new_value) VALUES(@at, @actor, @s, @setting, @old, @new)",
            ("@at", at), ("@actor", actor), ("@s", subject), ("@setting", setting), ("@old", oldValue), ("@new", newValue));
}
