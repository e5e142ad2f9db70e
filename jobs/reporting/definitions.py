"""The metric definitions of the weekly report, versioned: printed inside every report and in the README.

A stored report records the `DEFINITIONS_VERSION` it was computed with. Change a definition, change the
version: reports of past weeks keep the version they were made with (and say so) until regenerated, and a
week-over-week change is only computed against a week of the same version.
"""

from __future__ import annotations

DEFINITIONS_VERSION = "1"

# (key, English, French). Keys are stable; the text is what readers get.
DEFINITIONS: tuple[tuple[str, str, str], ...] = (
    (
        "week",
        "Week: the ISO week (Monday 00:00 to the next Monday 00:00) on the campaign's time zone; across a "
        "daylight-saving change it lasts 167 or 169 hours. A post belongs to the week of its publication time.",
        "Semaine : la semaine ISO (du lundi 00:00 au lundi suivant 00:00) dans le fuseau horaire de la campagne ; "
        "lors d'un changement d'heure elle dure 167 ou 169 heures. Un message appartient à la semaine de sa "
        "publication.",
    ),
    (
        "posts",
        "Posts: campaign posts published during the week. Original posts, reposts (retweets, boosts), replies "
        "and quotes are counted separately and add up to the total.",
        "Messages : messages de la campagne publiés pendant la semaine. Originaux, repartages (retweets, "
        "boosts), réponses et citations sont comptés à part et leur somme fait le total.",
    ),
    (
        "authors",
        "Unique authors: distinct accounts that posted during the week. Instagram's hashtag search does not "
        "name authors: those posts are counted as posts by unidentified authors, never as authors. New "
        "authors: unique authors with no campaign post before the week.",
        "Auteurs uniques : comptes distincts ayant publié pendant la semaine. La recherche par hashtag "
        "d'Instagram ne donne pas les auteurs : ces messages sont comptés comme messages d'auteurs non "
        "identifiés, jamais comme auteurs. Nouveaux auteurs : auteurs uniques sans message de la campagne "
        "avant la semaine.",
    ),
    (
        "potential_reach",
        "Potential reach: the follower counts of the week's unique authors, each author counted once (the "
        "count last collected). It is an upper bound of the people who could have seen a post, not people "
        "reached. Authors whose follower count is unknown add nothing and are counted separately; when no "
        "count is known the reach is unknown, never 0.",
        "Audience potentielle : somme des abonnés des auteurs uniques de la semaine, chaque auteur compté une "
        "fois (dernier chiffre collecté). C'est un plafond du nombre de personnes qui ont pu voir un message, "
        "pas des personnes atteintes. Les auteurs dont le nombre d'abonnés est inconnu n'ajoutent rien et "
        "sont comptés à part ; si aucun chiffre n'est connu, l'audience est inconnue, jamais 0.",
    ),
    (
        "summed_potential_impressions",
        "Summed potential impressions: the author's follower count summed per post (an author who posted "
        "twice counts twice). Always larger than or equal to the potential reach; shown separately and never "
        "called reach.",
        "Impressions potentielles cumulées : abonnés de l'auteur additionnés message par message (un auteur "
        "qui a publié deux fois compte deux fois). Toujours supérieures ou égales à l'audience potentielle ; "
        "présentées à part, jamais appelées audience.",
    ),
    (
        "impressions",
        "Impressions: views only where the platform reports them (X's impression_count), from the same "
        "snapshot as the engagements, with the share of posts that had the figure. Other platforms report none.",
        "Impressions : vues seulement là où la plateforme les fournit (impression_count de X), prises au même "
        "relevé que les interactions, avec la part des messages qui avaient ce chiffre. Les autres plateformes "
        "n'en donnent pas.",
    ),
    (
        "engagements",
        "Engagements: likes + reposts/boosts + replies + quotes of the week's posts, from each post's latest "
        "engagement snapshot taken no later than the end of the week (so a past week's figures do not grow "
        "afterwards). Posts with no snapshot by then are not counted. Engagement per post = engagements ÷ "
        "posts with a snapshot; engagement rate = engagements ÷ potential reach.",
        "Interactions : j'aime + repartages/boosts + réponses + citations des messages de la semaine, selon le "
        "dernier relevé de chaque message pris au plus tard à la fin de la semaine (les chiffres d'une semaine "
        "passée ne grossissent donc plus). Les messages sans relevé à cette date ne sont pas comptés. "
        "Interactions par message = interactions ÷ messages relevés ; taux d'interaction = interactions ÷ "
        "audience potentielle.",
    ),
    (
        "sentiment",
        "Sentiment: positive, neutral or negative from the analysis of each post; posts not analysed yet are "
        "counted apart. Net sentiment = (positive − negative) ÷ (positive + negative), from −1 to +1.",
        "Tonalité : positive, neutre ou négative selon l'analyse de chaque message ; les messages pas encore "
        "analysés sont comptés à part. Tonalité nette = (positifs − négatifs) ÷ (positifs + négatifs), de −1 "
        "à +1.",
    ),
    (
        "merchants",
        "Merchants: posts of the week linked to a registered merchant (one per post and merchant). Biggest "
        "risers: most added posts compared with the previous week (at least 3 this week). Negative spike: at "
        "least 3 negative posts and at least twice the previous week's. Newly discovered: businesses absent "
        "from the registry, first seen during the week. Region and city: those of the merchants named.",
        "Commerçants : messages de la semaine liés à un commerçant inscrit (un par message et commerçant). "
        "Plus fortes hausses : le plus de messages gagnés par rapport à la semaine précédente (au moins 3 "
        "cette semaine). Pic négatif : au moins 3 messages négatifs et au moins le double de la semaine "
        "précédente. Nouvellement découverts : commerces absents du registre vus pour la première fois dans "
        "la semaine. Région et ville : celles des commerçants cités.",
    ),
    (
        "change",
        "Week-over-week change: the difference with the previous week and, for counts, the change in percent "
        "(none when the previous week is 0 or unknown, or was computed with other definitions).",
        "Évolution sur une semaine : la différence avec la semaine précédente et, pour les comptes, "
        "l'évolution en pourcentage (aucune quand la semaine précédente vaut 0, est inconnue ou a été calculée "
        "avec d'autres définitions).",
    ),
    (
        "coverage",
        "Coverage: per source, the hours of the week it collected, was degraded (some streams failed), "
        "rate-limited, failed, or did not run, from the collection job history (a run speaks until the next "
        "one, at most twice the source's interval; a rate limit until its announced reset), and the payloads "
        "quarantined. Platforms that cannot be collected and sources not set up are listed: the report says "
        "when it is partial.",
        "Couverture : pour chaque source, les heures de la semaine où elle a collecté, été dégradée (certains "
        "flux en échec), limitée par la plateforme, en échec, ou n'a pas tourné, d'après l'historique des "
        "collectes (une collecte vaut jusqu'à la suivante, au plus deux fois l'intervalle de la source ; une "
        "limite jusqu'à la reprise annoncée), et les contenus mis en quarantaine. Les plateformes impossibles "
        "à collecter et les sources non configurées sont listées : le rapport dit quand il est partiel.",
    ),
    (
        "privacy",
        "Privacy: private individuals appear under a stable pseudonym (person-…) unless they granted rights "
        "on a story or the account is a registered merchant's.",
        "Vie privée : les particuliers apparaissent sous un pseudonyme stable (person-…) sauf s'ils ont "
        "accordé leurs droits sur un témoignage ou si le compte est celui d'un commerçant inscrit.",
    ),
)


def definitions(locale: str) -> list[tuple[str, str]]:
    """(key, text) in `locale` (French or English)."""
    column = 2 if locale == "fr" else 1
    return [(entry[0], entry[column]) for entry in DEFINITIONS]
