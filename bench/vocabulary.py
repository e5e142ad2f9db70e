"""Words, names, places and post templates of the synthetic corpus (`bench.generate`), in French, Arabic and English.

Kept apart from the generator so that the generator reads as an algorithm. The templates are written the way
campaign posts are (first-hand experiences, recommendations, complaints, questions, neutral news, spam) so that
text lengths, scripts, hashtag and emoji counts resemble the real traffic the queue and the reports read.

Template slots: {m} merchant as written, {p} product, {a} appraisal, {c} city, {w} companion, {cat} kind of shop,
{e} emoji, {n} a number, {tag} the campaign hashtag, {url} a link. Each template carries signal flags: f first
person, g gratitude, r recommendation, q question, c complaint (what `nlp.signals` would find in it).
"""

from __future__ import annotations

# --- places ------------------------------------------------------------------------------------------------

# (city, postcode prefix, region)
FRANCE_CITIES: tuple[tuple[str, str, str], ...] = (
    ("Paris", "750", "Île-de-France"),
    ("Lyon", "690", "Auvergne-Rhône-Alpes"),
    ("Marseille", "130", "Provence-Alpes-Côte d'Azur"),
    ("Toulouse", "310", "Occitanie"),
    ("Lille", "590", "Hauts-de-France"),
    ("Nantes", "440", "Pays de la Loire"),
    ("Bordeaux", "330", "Nouvelle-Aquitaine"),
    ("Strasbourg", "670", "Grand Est"),
    ("Montpellier", "340", "Occitanie"),
    ("Rennes", "350", "Bretagne"),
    ("Grenoble", "380", "Auvergne-Rhône-Alpes"),
    ("Nice", "060", "Provence-Alpes-Côte d'Azur"),
    ("Dijon", "210", "Bourgogne-Franche-Comté"),
    ("Angers", "490", "Pays de la Loire"),
    ("Saint-Étienne", "420", "Auvergne-Rhône-Alpes"),
    ("Roubaix", "591", "Hauts-de-France"),
)
# (city, city in Arabic, postcode prefix or "", region, website suffix, phone prefix)
MENA_CITIES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("Casablanca", "الدار البيضاء", "20", "Casablanca-Settat", "ma", "+212 522"),
    ("Rabat", "الرباط", "10", "Rabat-Salé-Kénitra", "ma", "+212 537"),
    ("Marrakech", "مراكش", "40", "Marrakech-Safi", "ma", "+212 524"),
    ("Fès", "فاس", "30", "Fès-Meknès", "ma", "+212 535"),
    ("Tanger", "طنجة", "90", "Tanger-Tétouan-Al Hoceïma", "ma", "+212 539"),
    ("Agadir", "أكادير", "80", "Souss-Massa", "ma", "+212 528"),
    ("Tunis", "تونس", "10", "Tunis", "tn", "+216 71"),
    ("Sfax", "صفاقس", "30", "Sfax", "tn", "+216 74"),
    ("Sousse", "سوسة", "40", "Sousse", "tn", "+216 73"),
    ("Alger", "الجزائر", "16", "Alger", "dz", "+213 21"),
    ("Oran", "وهران", "31", "Oran", "dz", "+213 41"),
    ("Beyrouth", "بيروت", "", "Beyrouth", "lb", "+961 1"),
    ("Amman", "عمان", "", "Amman", "jo", "+962 6"),
    ("Le Caire", "القاهرة", "", "Le Caire", "eg", "+20 2"),
    ("Dubaï", "دبي", "", "Dubaï", "ae", "+971 4"),
)
FR_STREETS = (
    "rue de la République", "rue Victor Hugo", "place du Marché", "rue des Halles", "avenue Jean Jaurès",
    "rue Pasteur", "boulevard Gambetta", "rue de la Paix", "rue du Port", "cours Lafayette", "rue Nationale",
    "quai des Tanneurs", "rue Saint-Michel", "place de l'Église", "rue des Écoles",
)  # fmt: skip
MENA_STREETS = (
    "Boulevard Mohammed V", "Avenue Hassan II", "Rue de Fès", "Avenue Habib Bourguiba", "Rue Didouche Mourad",
    "Derb Sidi Bouloukat", "Rue Hamra", "Avenue des FAR", "Souk El Attarine", "Rue Ibn Battouta", "شارع الحرية",
    "شارع محمد الخامس", "زنقة الأطلس",
)  # fmt: skip

# --- shops ---------------------------------------------------------------------------------------------------

# category -> (French label, Arabic label, English label, French products, Arabic products, English products)
CATEGORIES: dict[str, tuple[str, str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "boulangerie": (
        "Boulangerie", "مخبز", "Bakery",
        ("la baguette tradition", "les croissants", "le pain au levain", "la brioche", "les chaussons aux pommes"),
        ("الخبز", "المسمن", "البغرير", "الكرواسون", "خبز الشعير"),
        ("the sourdough", "the croissants", "the bread", "the cinnamon rolls", "the baguette"),
    ),
    "patisserie": (
        "Pâtisserie", "حلويات", "Pastry shop",
        ("le paris-brest", "les éclairs", "la tarte au citron", "les macarons", "le fraisier"),
        ("كعب الغزال", "الشباكية", "البقلاوة", "الغريبة", "المقروط"),
        ("the pastries", "the baklava", "the lemon tart", "the macarons", "the eclairs"),
    ),
    "cafe": (
        "Café", "مقهى", "Café",
        ("le café filtre", "le chocolat chaud", "le brunch", "le flat white", "le thé à la menthe"),
        ("القهوة", "أتاي بالنعناع", "الفطور", "العصير", "القهوة المطحونة"),
        ("the coffee", "the flat white", "the brunch", "the mint tea", "the iced latte"),
    ),
    "epicerie": (
        "Épicerie", "بقالة", "Grocery",
        ("les produits en vrac", "l'huile d'olive", "les épices", "les fruits de saison", "le miel local"),
        ("زيت الزيتون", "التوابل", "العسل", "الزيتون", "التمر"),
        ("the olive oil", "the spices", "the local honey", "the dates", "the fresh produce"),
    ),
    "fromagerie": (
        "Fromagerie", "محل الأجبان", "Cheese shop",
        ("le comté 24 mois", "le saint-marcellin", "le plateau de fromages", "le beurre cru", "la raclette"),
        ("الجبن البلدي", "الجبن", "اللبن", "الزبدة البلدية", "جبن الماعز"),
        ("the aged comté", "the goat cheese", "the cheese board", "the raw-milk butter", "the halloumi"),
    ),
    "librairie": (
        "Librairie", "مكتبة", "Bookshop",
        ("les conseils lecture", "le rayon BD", "la sélection jeunesse", "le dernier prix Goncourt", "les romans"),
        ("الكتب", "الروايات", "كتب الأطفال", "المجلات", "الكتب المستعملة"),
        ("the book recommendations", "the comics section", "the children's books", "the novels", "the poetry"),
    ),
    "fleuriste": (
        "Fleuriste", "محل الورود", "Florist",
        ("le bouquet", "les pivoines", "la composition", "les tulipes", "les plantes vertes"),
        ("الورود", "باقة الورد", "الياسمين", "النباتات", "الزهور"),
        ("the bouquet", "the peonies", "the flowers", "the plants", "the roses"),
    ),
    "boucherie": (
        "Boucherie", "جزارة", "Butcher",
        ("la côte de bœuf", "les merguez", "le poulet fermier", "la blanquette", "le rôti"),
        ("اللحم", "الكفتة", "الدجاج البلدي", "المرقاز", "لحم الغنم"),
        ("the steak", "the merguez", "the free-range chicken", "the lamb", "the sausages"),
    ),
    "restaurant": (
        "Restaurant", "مطعم", "Restaurant",
        ("le couscous", "le plat du jour", "le tajine", "la formule midi", "la blanquette"),
        ("الكسكس", "الطاجين", "الحريرة", "البسطيلة", "الطبق اليومي"),
        ("the couscous", "the tagine", "the lunch menu", "the daily special", "the mezze"),
    ),
    "artisan": (
        "Atelier", "ورشة", "Workshop",
        ("les céramiques", "les bijoux", "la maroquinerie", "les bougies", "les tapis"),
        ("الزرابي", "الفخار", "الحلي", "الجلد", "النحاس"),
        ("the ceramics", "the jewellery", "the leather goods", "the candles", "the rugs"),
    ),
}  # fmt: skip

# Parts of French shop names.
FR_SURNAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon",
    "Laurent", "Lefebvre", "Michel", "Garcia", "Roux", "Fournier", "Girard", "Bonnet", "Mercier", "Blanc",
    "Guerin", "Boyer", "Chevalier", "Benali", "Haddad", "Nguyen", "Da Silva", "Perrin", "Morel",
)  # fmt: skip
FR_FIRST = (
    "Marcel", "Simone", "Lucie", "Jeanne", "Paul", "Louise", "Hugo", "Camille", "Léa", "Nadia", "Karim", "Sophie",
    "Julien", "Inès", "Yasmine", "Thomas", "Chloé", "Mehdi", "Manon", "Antoine", "Sarah", "Lucas", "Émilie", "Omar",
)  # fmt: skip
FR_NAME_NOUNS = (
    "Trois Épis", "Mots Passants", "Petits Pains", "Bons Vivants", "Jolies Choses", "Quatre Saisons", "Deux Moulins",
    "Délices", "Gourmandises", "Pages Libres", "Fleurs du Mal", "Grains de Sel", "Vieux Tonneaux", "Copains",
)  # fmt: skip
FR_PLACES = ("du Port", "du Marché", "de la Place", "des Halles", "de la Gare", "du Centre", "des Arts", "du Parc")
# Arabic words of shop names with the Latin spelling people also use.
AR_NAME_WORDS: tuple[tuple[str, str], ...] = (
    ("الأمل", "Al Amal"), ("النخيل", "Annakhil"), ("الياسمين", "Yasmine"), ("البركة", "Baraka"),
    ("الأندلس", "Andalous"), ("السعادة", "Saada"), ("الزيتونة", "Zitouna"), ("الفردوس", "Al Firdaous"),
    ("النجمة", "Nejma"), ("الهلال", "Al Hilal"), ("الريحان", "Rayhane"), ("الواحة", "Al Waha"), ("القصبة", "Kasbah"),
    ("المدينة", "Medina"), ("الأطلس", "Atlas"), ("النور", "Nour"), ("الفجر", "Al Fajr"), ("الشروق", "Chourouk"),
    ("الربيع", "Rabie"), ("الرمان", "Rommane"), ("الأصالة", "Assala"), ("الضيافة", "Diafa"), ("المنار", "Al Manar"),
)  # fmt: skip
AR_PERSONS: tuple[tuple[str, str], ...] = (
    ("فاطمة", "Fatima"), ("عائشة", "Aicha"), ("محمد", "Mohamed"), ("يوسف", "Youssef"), ("خديجة", "Khadija"),
    ("عمر", "Omar"), ("سلمى", "Salma"), ("حسن", "Hassan"), ("مريم", "Meryem"), ("إدريس", "Driss"), ("ليلى", "Leila"),
    ("كريم", "Karim"), ("نادية", "Nadia"), ("رشيد", "Rachid"), ("سعاد", "Souad"), ("أمين", "Amine"),
)  # fmt: skip
EN_NAME_WORDS = (
    "Green", "Golden", "Little", "Corner", "Daily", "Olive", "Cedar", "Sunny", "Urban", "Old Town", "Blue Door",
    "Salt & Honey", "Palm", "Saffron", "Copper", "Harbour",
)  # fmt: skip
# The second word of an English shop name, by category.
EN_NAME_TAILS: dict[str, tuple[str, ...]] = {
    "boulangerie": ("Bakehouse", "Bakery", "Oven"),
    "patisserie": ("Sweets", "Patisserie", "Cakes"),
    "cafe": ("Roasters", "Coffee", "Café"),
    "epicerie": ("Pantry", "Souk", "Market"),
    "fromagerie": ("Cheese Co.", "Dairy", "Deli"),
    "librairie": ("Books", "Bookshop", "Pages"),
    "fleuriste": ("Flowers", "Blooms", "Florist"),
    "boucherie": ("Butchers", "Meats", "Grill"),
    "restaurant": ("Kitchen", "Table", "Bistro"),
    "artisan": ("Studio", "Lab", "Workshop"),
}

# --- people --------------------------------------------------------------------------------------------------

FR_PEOPLE_FIRST = (*FR_FIRST, "Nicolas", "Claire", "Maxime", "Pauline", "Sami", "Aurélie", "Bastien", "Elodie")
FR_PEOPLE_LAST = (*FR_SURNAMES, "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller", "Lefevre", "Faure")
AR_PEOPLE = (
    *AR_PERSONS,
    ("زينب", "Zineb"), ("أيوب", "Ayoub"), ("هدى", "Houda"), ("طارق", "Tarek"), ("سارة", "Sara"), ("بلال", "Bilal"),
    ("إيمان", "Imane"), ("ياسين", "Yassine"), ("منى", "Mouna"), ("مهدي", "Mehdi"),
)  # fmt: skip
AR_FAMILY = (
    ("العلوي", "Alaoui"), ("بنعلي", "Benali"), ("التازي", "Tazi"), ("الإدريسي", "Idrissi"), ("بن سالم", "Ben Salem"),
    ("الشريف", "Cherif"), ("المنصوري", "Mansouri"), ("الحداد", "Haddad"), ("بوزيد", "Bouzid"),
    ("الطرابلسي", "Trabelsi"),
)  # fmt: skip
EN_PEOPLE_FIRST = ("Emma", "James", "Olivia", "Noah", "Amelia", "Jack", "Sophia", "Leo", "Grace", "Adam", "Maya")
EN_PEOPLE_LAST = ("Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Walker", "Hughes", "Khan", "Patel")
MASTODON_INSTANCES = ("piaille.fr", "mastodon.social", "mamot.fr", "framapiaf.org", "toot.community", "mstdn.social")
NAME_DECORATIONS = ("", "", "", "", "", " 🌿", " ☕", " 🇫🇷", " 🇲🇦", " 🇹🇳", " ✨", " 📚")

# --- words that fill the templates ---------------------------------------------------------------------------

# Words that agree with any product ("la brioche", "les croissants"...).
FR_APPRAISALS = (
    "un délice", "une tuerie", "incroyable", "au top", "une merveille", "un régal", "impeccable", "extra",
    "à tomber", "top qualité", "une réussite",
)  # fmt: skip
EN_APPRAISALS = ("amazing", "delicious", "perfect", "so good", "outstanding", "the best in town", "lovely", "superb")
AR_APPRAISALS = ("رائع", "لذيذ بزاف", "ممتاز", "مزيان بزاف", "طري ولذيذ", "ما كاين بحالو", "في القمة", "رائع جدا")
FR_COMPANIONS = ("ma mère", "mes enfants", "une amie", "mon voisin", "les collègues", "ma grand-mère", "mon copain")
EN_COMPANIONS = ("my mum", "the kids", "a friend", "my neighbour", "the team", "my partner", "grandma")
AR_COMPANIONS = ("العائلة", "أصدقائي", "أمي", "الأولاد", "جاري", "زملائي", "جدتي")

POSITIVE_EMOJI = ("❤️", "😍", "🥐", "☕", "👏", "🙏", "✨", "💚", "🔥", "😋", "🌟", "👌", "🥰", "💯")
NEGATIVE_EMOJI = ("😡", "😞", "👎", "🙄", "😤", "💔")
NEUTRAL_EMOJI = ("📍", "📰", "📢", "🗓️", "ℹ️")

FR_EXTRA_TAGS = ("CommerceDeProximité", "ConsommerLocal", "ShopLocal", "MadeInFrance", "Artisanat", "TPE", "PME")
MENA_EXTRA_TAGS = ("ShopLocal", "MadeInMorocco", "صنع_في_المغرب", "Tunisie", "محلي", "Casablanca", "Artisanat")
SPAM_TAGS = ("crypto", "bitcoin", "giveaway", "concours", "gagner", "followback", "promo", "free", "win", "money")

NEWS_SITES = ("https://www.ouest-france.fr/", "https://www.leparisien.fr/", "https://www.hespress.com/",
              "https://www.lematin.ma/", "https://www.webdo.tn/", "https://www.lesechos.fr/")  # fmt: skip
SPAM_SITES = ("https://bit.ly/", "https://tinyurl.com/", "https://win-prize.example/", "https://crypto-x.example/")

# --- templates: (text, flags) by language and kind -----------------------------------------------------------

Template = tuple[str, str]

TEMPLATES: dict[str, dict[str, tuple[Template, ...]]] = {
    "fr": {
        "experience": (
            ("Ce matin, {p} chez {m} à {c} : {a} {e}", "f"),
            ("J'ai découvert {m} grâce à {w}, et franchement {p}, {a} {e}", "f"),
            ("Passée chez {m} avec {w}, accueil adorable et {p} {a}.", "f"),
            ("Merci {m} pour {p}, toujours {a} ! {e}", "fg"),
            ("Mon rituel du samedi : {p} chez {m}. Jamais déçue {e}", "f"),
            ("Première fois chez {m} ({c}) et je reviendrai, {p} {a} !", "f"),
            ("Je soutiens {m} depuis des années, l'équipe est au top {e} {tag}", "f"),
            ("On a fêté l'anniversaire de {w} avec {p} de chez {m}, {a} {e}", "f"),
            ("Un grand merci à toute l'équipe de {m} pour leur gentillesse {e}", "fg"),
            ("Je suis passé chez {m} ce midi : {p} {a}, prix honnête, service rapide.", "f"),
            ("{p} de {m}, {a}. Voilà pourquoi j'achète local {e}", "f"),
        ),
        "recommendation": (
            ("Si vous passez par {c}, foncez chez {m} ! {e}", "r"),
            ("Je recommande {m} les yeux fermés, {p} {a}.", "fr"),
            ("Bonne adresse à {c} : {m}. Allez-y de ma part {e}", "r"),
            ("Pour {p}, rien ne vaut {m}. Soutenons nos commerçants ! {tag}", "r"),
            ("Vous cherchez {cat} à {c} ? {m}, sans hésiter {e}", "rq"),
            ("Mon conseil du jour : {m}, pour {p} {a}.", "fr"),
            ("Allez découvrir {m} à {c}, vous ne le regretterez pas {e}", "r"),
        ),
        "complaint": (
            ("Très déçu par {m}, {p} pas frais et accueil glacial {e}", "fc"),
            ("Une heure d'attente chez {m} pour {p}... plus jamais.", "fc"),
            ("Je ne recommande pas {m}, les prix ont doublé depuis l'an dernier.", "fc"),
            ("Commande annulée sans prévenir par {m}, vraiment pas sérieux {e}", "fc"),
            ("Dommage, {m} a changé de recette et {p} n'a plus le même goût.", "fc"),
        ),
        "question": (
            ("Quelqu'un connaît {cat} sympa à {c} ? {e}", "q"),
            ("{m} est ouvert le dimanche ?", "q"),
            ("Vous avez déjà testé {p} chez {m} ? Ça vaut le détour ?", "q"),
        ),
        "news": (
            ("{c} : {n} commerçants rejoignent l'opération {tag} {e}", ""),
            ("Les TPE et PME de {c} face à la hausse des loyers : le point avec la CCI {url}", ""),
            ("Reportage : comment {m} a traversé la crise à {c} {url}", ""),
            ("Marché des artisans à {c} ce week-end, {n} exposants attendus {e}", ""),
            ("La mairie de {c} lance un chèque commerce local de {n} € {url}", ""),
        ),
        "spam": (
            ("Gagnez 500€ par jour depuis chez vous !!! Cliquez ici {url} {spamtags}", ""),
            ("CONCOURS 🎁🎁 Suivez-nous et partagez pour gagner un iPhone {url} {url} {spamtags}", ""),
            ("Crypto : doublez vos gains en 24h, DM moi {e}{e}{e}{e} {spamtags}", ""),
            ("PROMO PROMO PROMO -70% sur tout le site {url} {spamtags}", ""),
        ),
        "reply": (
            ("Tellement vrai ! {e}", ""),
            ("Merci pour l'adresse, j'y vais demain {e}", "g"),
            ("C'est où exactement ?", "q"),
            ("Pareil pour moi, {a} !", "f"),
            ("Je confirme, {m} c'est {a} {e}", "f"),
            ("Ah je ne connaissais pas, merci !", "g"),
        ),
    },
    "en": {
        "experience": (
            ("Had {p} at {m} in {c} this morning: {a} {e}", "f"),
            ("Found {m} thanks to {w}, and honestly {p} is {a} {e}", "f"),
            ("Thank you {m} for {p}, {a} as always! {e}", "fg"),
            ("My Saturday ritual: {p} from {m}. Never disappoints {e}", "f"),
            ("First time at {m} ({c}) and I'll be back, {p} was {a}!", "f"),
            ("I've supported {m} for years, the team is wonderful {e} {tag}", "f"),
            ("Big thanks to everyone at {m} for the warm welcome {e}", "fg"),
        ),
        "recommendation": (
            ("If you're in {c}, go to {m}! {e}", "r"),
            ("Highly recommend {m}, {p} is {a}.", "fr"),
            ("Best spot in {c} for {p}: {m} {e}", "r"),
            ("Looking for {cat} in {c}? {m}, no doubt {e}", "rq"),
            ("Support small businesses: {m} deserves a visit {tag}", "r"),
        ),
        "complaint": (
            ("Really disappointed by {m}, {p} was stale and the staff rude {e}", "fc"),
            ("Waited an hour at {m} for {p}... never again.", "fc"),
            ("Wouldn't recommend {m}, prices doubled since last year.", "fc"),
            ("Order cancelled without notice by {m}. Not serious at all {e}", "fc"),
        ),
        "question": (
            ("Anyone know a good {cat} in {c}? {e}", "q"),
            ("Is {m} open on Sundays?", "q"),
            ("Has anyone tried {p} at {m}? Worth it?", "q"),
        ),
        "news": (
            ("{c}: {n} shops join the {tag} campaign {e}", ""),
            ("Small businesses in {c} face rising rents, a report says {url}", ""),
            ("Feature: how {m} made it through the crisis in {c} {url}", ""),
            ("Craft market in {c} this weekend, {n} stalls expected {e}", ""),
        ),
        "spam": (
            ("Make $500 a day from home!!! Click here {url} {spamtags}", ""),
            ("GIVEAWAY 🎁🎁 Follow + RT to win an iPhone {url} {url} {spamtags}", ""),
            ("Crypto signals: double your money in 24h, DM me {e}{e}{e}{e} {spamtags}", ""),
        ),
        "reply": (
            ("So true! {e}", ""),
            ("Thanks for the tip, going tomorrow {e}", "g"),
            ("Where is it exactly?", "q"),
            ("Same here, {a}!", "f"),
            ("Agreed, {m} is {a} {e}", "f"),
        ),
    },
    "ar": {
        "experience": (
            ("اليوم جربت {p} عند {m} في {c}، بصراحة {a} {e}", "f"),
            ("زرت {m} مع {w} وكان الاستقبال رائع {e}", "f"),
            ("شكرا جزيلا {m} على الخدمة الممتازة {e}", "fg"),
            ("أحببت {p} في {m}، {a} {e}", "f"),
            ("كل صباح نشري {p} من {m}، {a} {e}", "f"),
            ("أول مرة عند {m} في {c} وغادي نرجع أكيد، {p} {a}", "f"),
            ("ندعم {m} من سنين، فريق رائع {e} {tag}", "f"),
            ("الله يبارك ليكم {m}، {p} {a} والثمن معقول", "fg"),
        ),
        "recommendation": (
            ("أنصحكم بزيارة {m} إذا كنتم في {c} {e}", "r"),
            ("لي بغا {p} مزيان يمشي عند {m} {e}", "r"),
            ("من أفضل المحلات في {c}: {m} {e}", "r"),
            ("ادعموا المحلات الصغيرة! {m} يستاهل الزيارة {tag}", "r"),
            ("كتقلبو على {cat} في {c}؟ {m} بلا تردد", "rq"),
        ),
        "complaint": (
            ("للأسف تجربتي مع {m} كانت سيئة، {p} ما كانش طري {e}", "fc"),
            ("انتظرت ساعة في {m} وما حد اهتم بيا {e}", "fc"),
            ("خيبة أمل كبيرة من {m}، الأسعار غالية بزاف", "fc"),
            ("لا أنصح أحدا بزيارة {m}، الخدمة بطيئة جدا {e}", "fc"),
        ),
        "question": (
            ("شكون يعرف {cat} مزيان في {c}؟ {e}", "q"),
            ("واش {m} مفتوح نهار الأحد؟", "q"),
            ("واش شي حد جرب {p} عند {m}؟", "q"),
        ),
        "news": (
            ("انطلاق حملة {tag} لدعم التجار المحليين في {c} {e}", ""),
            ("أكثر من {n} محل في {c} يشارك في حملة دعم التجارة المحلية {url}", ""),
            ("تقرير: المحلات الصغيرة في {c} تستعيد زبائنها {url}", ""),
            ("معرض الصناعة التقليدية في {c} هذا الأسبوع بمشاركة {n} حرفي {e}", ""),
        ),
        "spam": (
            ("اربح آلاف الدراهم يوميا من البيت! راسلني الآن {url} {spamtags}", ""),
            ("عرض خاص 🔥🔥🔥 تابعنا واربح هدية {url} {url} {spamtags}", ""),
            ("ضاعف أرباحك بالعملات الرقمية في 24 ساعة {e}{e}{e}{e} {spamtags}", ""),
        ),
        "reply": (
            ("صحيح 100% {e}", ""),
            ("شكرا على المعلومة، غادي نمشي غدا {e}", "g"),
            ("فين بالضبط؟", "q"),
            ("نفس الشي بالنسبة ليا، {a}", "f"),
            ("عندك الحق، {m} {a} {e}", "f"),
        ),
    },
}

# Kinds of an original post and how often they occur; spam and news name no merchant (news sometimes does).
KINDS: tuple[tuple[str, float], ...] = (
    ("experience", 0.36),
    ("recommendation", 0.2),
    ("complaint", 0.09),
    ("question", 0.07),
    ("news", 0.2),
    ("spam", 0.08),
)
