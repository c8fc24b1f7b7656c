using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Relay.Data;

internal sealed class AuthChallengeConfiguration : IEntityTypeConfiguration<AuthChallenge>
{
    public void Configure(EntityTypeBuilder<AuthChallenge> builder)
    {
        builder.ToTable(t => t.HasCheckConstraint(
            "ck_auth_challenges_challenge_length", $"octet_length(challenge) = {AuthChallenge.ChallengeLength}"));

        builder.HasKey(c => c.Challenge);
        builder.HasIndex(c => c.ExpiresAt);

        builder.HasOne<Account>()
            .WithMany()
            .HasForeignKey(c => c.AccountId)
            .OnDelete(DeleteBehavior.Cascade);
    }
}
