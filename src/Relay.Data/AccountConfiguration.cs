using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Relay.Data;

internal sealed class AccountConfiguration : IEntityTypeConfiguration<Account>
{
    public void Configure(EntityTypeBuilder<Account> builder)
    {
        builder.ToTable(t => t.HasCheckConstraint(
            "ck_accounts_identity_key_length", $"octet_length(identity_key) = {Account.IdentityKeyLength}"));
        builder.ToTable(t => t.HasCheckConstraint("ck_accounts_delivery_key_hash_length", "octet_length(delivery_key_hash) = 32"));

        builder.HasKey(a => a.Id);
        builder.HasIndex(a => a.IdentityKey).IsUnique();

        builder.HasMany(a => a.Devices)
            .WithOne()
            .HasForeignKey(d => d.AccountId)
            .OnDelete(DeleteBehavior.Cascade);
    }
}
